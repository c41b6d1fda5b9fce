// Chat messages → one prompt for a GPT-2 model, which has no chat template of its own. A fine-tuned model (its
// .tllm header carries a prompt template) gets its template with the last user message as {input} and the system
// message as {instruction}; any other model a plain transcript ("System: …\nUser: …\nAssistant:") that stops
// where the model starts writing the user's next turn.
import type { LoadedModel } from '../runtime/model.js';
import { requestPrompt } from './classify.js';
import { ApiError } from './errors.js';
import type { Fields } from './fields.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const ROLES = ['system', 'user', 'assistant'] as const;
const TITLE: Record<ChatMessage['role'], string> = { system: 'System', user: 'User', assistant: 'Assistant' };

export function readMessages(list: Fields[], maxLength: number): ChatMessage[] {
  return list.map((m, i) => {
    const role = m.string('role', { required: true, maxLength: 16 });
    if (!(ROLES as readonly string[]).includes(role)) throw new ApiError(400, `messages[${i}].role must be one of ${ROLES.join(', ')}, got '${role}'`, `messages[${i}].role`);
    return { role: role as ChatMessage['role'], content: m.string('content', { required: true, maxLength }) };
  });
}

export interface ChatPrompt {
  ids: number[];
  /** Stop strings the format needs (added to the request's). */
  stop: string[];
}

export function chatPrompt(model: LoadedModel, messages: ChatMessage[]): ChatPrompt {
  if (model.finetune?.promptTemplate) {
    const user = messages.filter((m) => m.role === 'user').at(-1);
    if (!user) throw new ApiError(400, 'messages needs a user message (its content fills the model\'s prompt template)', 'messages');
    const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
    // no system message: the instruction the model was trained with (the header's), as /v1/classify does
    return requestPrompt(model, { instruction: system.length ? system.join('\n') : undefined, input: user.content }, 1);
  }
  const text = `${messages.map((m) => `${TITLE[m.role]}: ${m.content}\n`).join('')}Assistant:`;
  return { ids: model.tokenizer.encode(text), stop: ['\nUser:', '\nSystem:'] };
}
