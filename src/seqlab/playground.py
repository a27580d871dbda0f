"""The playground that `seqlab serve` shows at `/`: a form for every served model that fits its task.

Plain HTML and a little JavaScript, served by the same process; nothing is fetched from elsewhere.
"""

from __future__ import annotations

STYLE = """
:root{--ink:#1d2433;--muted:#5b6475;--line:#d8dde6;--accent:#2457c5;--paper:#fff;--wash:#f5f7fa}
body{font:15px/1.5 system-ui,sans-serif;color:var(--ink);background:var(--wash);margin:0}
header{background:var(--paper);border-bottom:1px solid var(--line);padding:.8em 1.5em}
header h1{font-size:1.2em;margin:0}main{max-width:60em;margin:1em auto;padding:0 1em}
section{background:var(--paper);border:1px solid var(--line);border-radius:8px;padding:1em 1.2em;
margin:1em 0}
h2{font-size:1.05em;margin:0 0 .2em}.meta{color:var(--muted);font-size:.85em;margin-bottom:.6em}
textarea,input[type=text],input[type=password]{width:100%;box-sizing:border-box;font:inherit;padding:.4em;
border:1px solid var(--line);border-radius:4px}
button{font:inherit;background:var(--accent);color:#fff;border:0;border-radius:4px;padding:.35em 1em;
margin:.4em 0}
.out{margin-top:.5em;white-space:pre-wrap}.error{color:#b00020}
.bar{display:inline-block;height:.7em;background:var(--accent);border-radius:2px;margin-right:.4em}
.tok{display:inline-block;margin:.1em;padding:0 .25em;border-radius:3px}.ent{background:#ffe7a3}
table{border-collapse:collapse}td,th{padding:.15em .6em;border-bottom:1px solid var(--line);text-align:left}
"""

SCRIPT = """
const keyBox = document.getElementById('key');
function headers(json) {
  const h = json ? {'Content-Type': 'application/json'} : {};
  if (keyBox && keyBox.value) h['X-API-Key'] = keyBox.value;
  return h;
}
async function call(model, verb, body, json = true) {
  const response = await fetch(`/v1/models/${encodeURIComponent(model)}/${verb}`, {
    method: 'POST', headers: headers(json), body: json ? JSON.stringify(body) : body});
  if (!response.ok) {
    const problem = await response.json().catch(() => ({error: {message: response.statusText}}));
    throw new Error(`${response.status}: ${problem.error.message}`);
  }
  return ['speak', 'draw', 'compose'].includes(verb) ? response.blob() : response.json();
}
async function streamed(model, prompt) {
  const body = JSON.stringify({prompt, max_new_tokens: 120, temperature: 0.8, stream: true});
  const response = await fetch(`/v1/models/${encodeURIComponent(model)}/generate`,
    {method: 'POST', headers: headers(true), body});
  if (!response.ok) throw new Error(`${response.status}: ${(await response.json()).error.message}`);
  const text = el('div', {className: 'generated'}, prompt), reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  (async () => {
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      buffer += decoder.decode(part.value, {stream: true});
      const events = buffer.split('\\n\\n');
      buffer = events.pop();
      for (const event of events) {
        const data = event.replace(/^data: /, '');
        if (data !== '[DONE]') text.append(JSON.parse(data).text ?? '');
      }
    }
  })();
  return text;
}
function el(tag, attrs = {}, ...children) {
  const node = Object.assign(document.createElement(tag), attrs);
  node.append(...children);
  return node;
}
function lines(text) { return text.split('\\n').map(t => t.trim()).filter(Boolean); }
function shown(row) {
  if (row.probabilities) {
    const ranked = Object.entries(row.probabilities).sort((a, b) => b[1] - a[1]);
    const bars = ranked.map(([label, p]) => el('div', {},
      el('span', {className: 'bar', style: `width:${Math.round(p * 200)}px`}), `${label} ${p.toFixed(3)}`));
    return el('div', {className: 'prediction'}, el('b', {}, String(row.label)), ...bars);
  }
  if (row.tokens && row.tags) {
    return el('div', {className: 'tagged'}, ...row.tokens.map((t, i) =>
      el('span', {className: 'tok' + (row.tags[i] !== 'O' ? ' ent' : ''), title: row.tags[i]}, t)));
  }
  return el('pre', {}, JSON.stringify(row, null, 1));
}
function chart(rows) {
  const number = r => r.forecast ?? r.y ?? Object.values(r).find(v => typeof v === 'number');
  const values = rows.map(r => Number(number(r)));
  const w = 480, h = 120, lo = Math.min(...values), hi = Math.max(...values) || 1;
  const x = i => (i / Math.max(values.length - 1, 1)) * w, y = v => h - ((v - lo) / (hi - lo || 1)) * h;
  const points = values.map((v, i) => `${x(i)},${y(v)}`);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', h); svg.setAttribute('class', 'chart');
  svg.innerHTML = `<polyline fill="none" stroke="#2457c5" stroke-width="2" points="${points.join(' ')}"/>`;
  return svg;
}
function form(model, verb) {
  const out = el('div', {className: 'out'});
  const run = async (work) => {
    out.replaceChildren('…');
    try { out.replaceChildren(...await work()); }
    catch (error) { out.replaceChildren(el('span', {className: 'error'}, error.message)); }
  };
  if (verb === 'predict' || verb === 'translate') {
    const box = el('textarea', {rows: 3, placeholder: 'one text per line', name: verb});
    const go = el('button', {onclick: () => run(async () => {
      const result = await call(model.name, verb, {texts: lines(box.value)});
      if (verb === 'predict') return result.predictions.map(shown);
      return result.translations.map(t => el('div', {}, t));
    })}, verb);
    return el('div', {className: 'verb ' + verb}, box, go, out);
  }
  if (verb === 'generate' || verb === 'speak') {
    const hint = verb === 'speak' ? 'what to say' : 'a prompt';
    const box = el('input', {type: 'text', placeholder: hint, name: verb});
    const go = el('button', {onclick: () => run(async () => {
      if (verb === 'generate') return [await streamed(model.name, box.value)];
      const audio = await call(model.name, verb, {text: box.value});
      return [el('audio', {controls: true, src: URL.createObjectURL(audio)})];
    })}, verb);
    return el('div', {className: 'verb ' + verb}, box, go, out);
  }
  if (verb === 'draw' || verb === 'compose') {
    const hint = verb === 'draw' ? 'a class (empty: any)' : 'opening pitches, e.g. 60 64 67';
    const box = el('input', {type: 'text', placeholder: hint, name: verb});
    const go = el('button', {onclick: () => run(async () => {
      const body = verb === 'draw'
        ? {label: box.value.trim() || null, count: 4}
        : {pitches: box.value.trim() ? box.value.trim().split(/[\\s,]+/).map(Number) : [60, 64, 67]};
      const url = URL.createObjectURL(await call(model.name, verb, body));
      if (verb === 'draw') return [el('img', {src: url, className: 'drawn'})];
      return [el('a', {href: url, download: 'composed.mid'}, 'composed.mid')];
    })}, verb);
    return el('div', {className: 'verb ' + verb}, box, go, out);
  }
  const field = {transcribe: 'audio', files: 'file', forecast: 'series'}[verb];
  const file = el('input', {type: 'file', name: verb, multiple: verb !== 'forecast'});
  const go = el('button', {onclick: () => run(async () => {
    const body = new FormData();
    for (const f of file.files) body.append(field, f);
    const result = await call(model.name, verb, body, false);
    if (verb === 'transcribe') {
      return result.transcripts.map(t => el('div', {}, `${t.file}: ${t.transcript}`));
    }
    if (verb === 'files') {
      const rows = result.predictions;
      if (rows.length && !rows[0].file) {  // a row per point or step, not per file
        return [el('div', {}, `${rows.length} rows`), ...rows.slice(0, 20).map(shown)];
      }
      return rows.map(p => el('div', {}, `${p.file}: `, p.caption || shown(p)));
    }
    return [chart(result.forecasts), el('div', {}, `${result.forecasts.length} forecast points`)];
  })}, verb);
  return el('div', {className: 'verb ' + verb}, file, go, out);
}
async function start() {
  const response = await fetch('/v1/models', {headers: headers(false)});
  const list = document.getElementById('models');
  if (!response.ok) {
    list.replaceChildren(el('p', {className: 'error'}, 'the models need an API key'));
    return;
  }
  const {models} = await response.json();
  list.replaceChildren(...models.map(model => el('section', {id: 'model-' + model.name},
    el('h2', {}, model.name),
    el('div', {className: 'meta'}, `${model.task} · ${model.encoder} · ${model.verbs.join(', ')}`),
    ...model.verbs.map(verb => form(model, verb)))));
}
if (keyBox) keyBox.addEventListener('change', start);
start();
"""


def page(needs_key: bool) -> str:
    """The playground: the served models, each with a form per verb it answers."""
    key = (
        '<p><label>API key <input type="password" id="key" autocomplete="off"></label></p>'
        if needs_key
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>seqlab playground</title>"
        f"<meta name='viewport' content='width=device-width'><style>{STYLE}</style></head><body>"
        "<header><h1>seqlab playground</h1></header>"
        f"<main>{key}<div id='models'>loading…</div></main><script>{SCRIPT}</script></body></html>"
    )
