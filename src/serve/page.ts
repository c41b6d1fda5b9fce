// The page `tinyllm serve` shows at /: the model card (from /v1/models), a prompt box whose completion streams in
// through /v1/completions (SSE read with fetch), and a classify form (/v1/classify). Plain HTML and JavaScript in
// one string, no framework and nothing loaded from elsewhere.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tinyllm serve</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.3rem; margin: 0 0 .8rem; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
  table { border-collapse: collapse; font-size: .9rem; } td { padding: .15rem .8rem .15rem 0; vertical-align: top; }
  td:first-child { color: #666; } #card td + td { white-space: pre-wrap; } textarea, input[type=text] { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; }
  .row { display: flex; gap: .8rem; align-items: center; flex-wrap: wrap; margin: .4rem 0; } .row label { font-size: .85rem; color: #444; }
  .row input[type=number] { width: 5rem; } button { font: inherit; padding: .3rem 1rem; }
  pre { white-space: pre-wrap; background: #f4f4f1; padding: .6rem; min-height: 3rem; border-radius: 4px; }
  .err { color: #b00020; } .bar { background: #4a7bd0; height: .7rem; display: inline-block; vertical-align: middle; }
</style>
</head>
<body>
<h1>tinyllm serve</h1>
<table id="card"><tr><td>model</td><td>loading…</td></tr></table>

<h2>Generate</h2>
<form id="generate-form">
  <textarea id="prompt" rows="4" placeholder="Prompt">Sensor log:</textarea>
  <div class="row">
    <label>max tokens <input id="max-tokens" type="number" min="1" value="64"></label>
    <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.8"></label>
    <label>top-k <input id="top-k" type="number" min="0" value="40"></label>
    <button id="generate" type="submit">Generate</button> <button id="stop" type="button" disabled>Stop</button>
  </div>
</form>
<pre id="output"></pre>

<h2>Classify</h2>
<form id="classify-form">
  <div class="row"><label>instruction (prefilled with the one the model was trained with)</label></div>
  <input id="classify-instruction" type="text" placeholder="Instruction (none)">
  <textarea id="classify-input" rows="6" placeholder="Input (e.g. a window of sensor readings, one line per sensor or time step)"></textarea>
  <div class="row"><label>labels (comma-separated; empty = the model's)</label></div>
  <input id="classify-labels" type="text" placeholder="left, right">
  <div class="row"><button id="classify" type="submit">Classify</button></div>
</form>
<div id="classify-result"></div>

<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
async function apiError(r) {
  try { return (await r.json()).error.message; } catch { return r.status + ' ' + r.statusText; }
}

fetch('/v1/models').then((r) => r.json()).then((list) => {
  const m = list.data[0], c = m.meta, q = c.quantization;
  const rows = [
    ['model', c.id + ' (' + c.file + ', ' + (c.fileBytes / 1e6).toFixed(1) + ' MB)'],
    ['parameters', c.parameters.toLocaleString('en-US')],
    ['config', 'layers ' + c.config.nLayer + ', heads ' + c.config.nHead + ', width ' + c.config.nEmbd + ', vocabulary ' + c.config.vocabSize + ', context ' + c.config.blockSize],
    ['quantization', 'weights ' + q.weights + ', embedding ' + q.embedding + (q.weights === 'int8' || q.embedding === 'int8' ? ', ' + (q.group ? 'groups of ' + q.group : 'per row') : '')],
    ['tokenizer', c.tokenizer],
    ['labels', c.finetune && c.finetune.labels && c.finetune.labels.length ? c.finetune.labels.join(', ') : '(none: give labels to classify)'],
  ];
  if (c.promptFormat) rows.push(['template', c.promptFormat]);
  if (c.finetune && c.finetune.instruction) $('classify-instruction').value = c.finetune.instruction;
  $('card').innerHTML = rows.map(([k, v]) => '<tr><td>' + esc(k) + '</td><td>' + esc(v) + '</td></tr>').join('');
}).catch((e) => { $('card').innerHTML = '<tr><td class="err">' + esc(e) + '</td></tr>'; });

let controller = null;
$('generate-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('output');
  out.textContent = ''; out.className = '';
  controller = new AbortController();
  $('generate').disabled = true; $('stop').disabled = false;
  try {
    const r = await fetch('/v1/completions', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: controller.signal,
      body: JSON.stringify({ prompt: $('prompt').value, max_tokens: Number($('max-tokens').value),
        temperature: Number($('temperature').value), top_k: Number($('top-k').value), stream: true }),
    });
    if (!r.ok) throw new Error(await apiError(r));
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\\n\\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') continue;
        out.textContent += JSON.parse(data).choices[0].text;
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') { out.className = 'err'; out.textContent += (out.textContent ? '\\n' : '') + e.message; }
  } finally {
    $('generate').disabled = false; $('stop').disabled = true; controller = null;
  }
});
$('stop').addEventListener('click', () => controller && controller.abort());

$('classify-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const res = $('classify-result');
  res.textContent = 'classifying…'; res.className = '';
  const labels = $('classify-labels').value.split(',').map((s) => s.trim()).filter(Boolean);
  const body = { input: $('classify-input').value, instruction: $('classify-instruction').value };
  try {
    const r = await fetch('/v1/classify', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(labels.length ? { ...body, labels } : body) });
    if (!r.ok) throw new Error(await apiError(r));
    const c = await r.json();
    res.innerHTML = '<p>label: <b id="classify-label">' + esc(c.label) + '</b></p><table>' + c.labels.map((l) =>
      '<tr><td>' + esc(l.label) + '</td><td>' + (100 * l.probability).toFixed(1) + '%</td><td><span class="bar" style="width:' +
      (200 * l.probability).toFixed(0) + 'px"></span></td></tr>').join('') + '</table>';
  } catch (e) { res.className = 'err'; res.textContent = e.message; }
});
</script>
</body>
</html>
`;
