// Module: the base class of layers and models, like torch.nn.Module but discovered from fields:
// every Tensor field is a parameter, every Module field (or array of Modules) a child, named with dots
// as Hugging Face does ("h.0.attn.c_attn.weight"). Gives parameters, train/eval, stateDict/loadStateDict.
import { Tensor } from '../tensor/tensor.js';
import { values } from '../tensor/layout.js';
import { sameShape, shapeStr } from '../tensor/shape.js';
import { UserError } from '../util/errors.js';

export abstract class Module {
  /** Training mode (dropout active); switch with train()/eval(). */
  training = true;

  /** Direct children in field order; arrays of modules are named field.0, field.1, … */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, v] of Object.entries(this)) {
      if (v instanceof Module) out.push([key, v]);
      else if (Array.isArray(v)) v.forEach((m, i) => m instanceof Module && out.push([`${key}.${i}`, m]));
    }
    return out;
  }

  /**
   * Every parameter with its dotted name, own fields first, then children in order. A tensor shared by
   * two modules (weight tying) appears once, under its first name, unless `withDuplicates`.
   */
  namedParameters(withDuplicates = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, prefix: string): void => {
      for (const [key, v] of Object.entries(m)) {
        if (v instanceof Tensor && (withDuplicates || !seen.has(v))) {
          seen.add(v);
          out.push([prefix + key, v]);
        }
      }
      for (const [name, child] of m.namedChildren()) walk(child, `${prefix}${name}.`);
    };
    walk(this, '');
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Total number of parameter values (shared tensors counted once). */
  numParameters(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  train(mode = true): this {
    this.training = mode;
    for (const [, c] of this.namedChildren()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Gradients of all parameters set to zero (buffers kept, so steady-state training allocates none). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad?.data.fill(0);
  }

  /** Name -> parameter, detached (shares storage), every name including tied duplicates. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters(true).map(([n, t]) => [n, t.detach()]));
  }

  /**
   * Copy values into the parameters by name. Shapes must match exactly; with strict (default) the key
   * sets must match too. Errors name the key, both shapes and what to do.
   */
  loadStateDict(state: Record<string, Tensor>, { strict = true }: { strict?: boolean } = {}): void {
    const own = this.namedParameters(true);
    const names = new Set(own.map(([n]) => n));
    if (strict) {
      const missing = own.filter(([n]) => !(n in state)).map(([n]) => n);
      const unexpected = Object.keys(state).filter((n) => !names.has(n));
      if (missing.length || unexpected.length) {
        throw new UserError(
          `loadStateDict: ${missing.length ? `missing keys [${missing.join(', ')}]` : ''}${missing.length && unexpected.length ? '; ' : ''}` +
            `${unexpected.length ? `unexpected keys [${unexpected.join(', ')}]` : ''}; ` +
            'check that the checkpoint was saved from the same model configuration, or pass { strict: false }',
        );
      }
    }
    for (const [name, p] of own) {
      const src = state[name];
      if (!src) continue;
      if (!sameShape(src.shape, p.shape)) {
        throw new UserError(
          `loadStateDict: '${name}' has shape ${shapeStr(src.shape)} in the state dict but ${shapeStr(p.shape)} in the model; ` +
            'the model configuration (sizes) must match the one the checkpoint was saved with',
        );
      }
      p.data.subarray(p.offset, p.offset + p.size).set(values(src));
    }
  }
}
