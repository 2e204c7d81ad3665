// vrlaif's page: chat about an uploaded video, and review a feedback run's preference pairs.
// Plain JavaScript, no build step. Everything shown from the data goes in as text, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

async function api(path, opts = {}) {
  const r = await fetch(path, { credentials: 'same-origin', ...opts });
  const ct = r.headers.get('Content-Type') || '';
  const body = ct.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new Error((body && body.error) || `${r.status} ${r.statusText}`);
  return body;
}

const pct = (x) => (x * 100).toFixed(1) + '%';
const num = (x, d = 3) => (typeof x === 'number' ? x.toFixed(d) : '');

// ---- tabs ----
let info = {};
function showTab() {
  const tab = location.hash === '#review' ? 'review' : 'chat';
  for (const t of ['chat', 'review']) {
    $(t).hidden = t !== tab;
    $('tab-' + t).classList.toggle('active', t === tab);
  }
  if (tab === 'review' && info.review && !review.loaded) loadDatasets();
}

// ---- chat ----
const chat = { upload: null, turns: [] };

function setUploadStatus(text, isError) {
  $('upload-status').textContent = text;
  $('upload-status').className = isError ? 'err' : 'muted';
}

async function uploadVideo(ev) {
  ev.preventDefault();
  const file = $('video').files[0];
  if (!file) { setUploadStatus('Choose a video file first.', true); return; }
  const max = info.limits && info.limits.upload_bytes;
  if (max && file.size > max) {
    setUploadStatus(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MiB; the limit is ${(max / 2 ** 20).toFixed(0)} MiB.`, true);
    return;
  }
  const form = new FormData();
  form.append('video', file, file.name);
  $('upload-btn').disabled = true;
  setUploadStatus(`Uploading ${file.name} and sampling its frames…`);
  try {
    const up = await api('/api/uploads', { method: 'POST', body: form });
    chat.upload = up;
    resetConversation();
    setUploadStatus(`${up.name}: ${up.frames} frames sampled from ${up.duration_seconds.toFixed(1)} s of ${up.codec} video (${up.width}×${up.height}).`);
    const strip = $('upload-strip');
    strip.replaceChildren(...Array.from({ length: up.frames }, (_, i) =>
      el('img', { src: `/api/uploads/${up.id}/frames/${i}`, alt: `frame ${i + 1}`, title: `frame ${i + 1} at ${(up.timestamps_seconds[i] || 0).toFixed(2)} s`, loading: 'lazy' })));
    $('question').disabled = false;
    $('ask-btn').disabled = false;
    $('question').focus();
  } catch (e) {
    setUploadStatus(e.message, true);
  } finally {
    $('upload-btn').disabled = false;
  }
}

function resetConversation() {
  chat.turns = [];
  $('conversation').replaceChildren();
  $('chat-error').textContent = '';
}

function addTurn(role, text, meta) {
  const t = el('div', { class: 'turn ' + role }, el('span', { class: 'who' }, role === 'user' ? 'You' : 'Model'),
    el('span', { class: 'text' }, text), meta ? el('span', { class: 'meta' }, meta) : null);
  $('conversation').append(t);
  $('conversation').scrollTop = $('conversation').scrollHeight;
  return t;
}

async function ask(ev) {
  ev.preventDefault();
  const q = $('question').value.trim();
  if (!q || !chat.upload) return;
  $('chat-error').textContent = '';
  chat.turns.push({ role: 'user', content: q });
  addTurn('user', q);
  $('question').value = '';
  $('ask-btn').disabled = true;
  const waiting = addTurn('assistant', '…');
  const n = (id) => Number($(id).value) || 0;
  try {
    const r = await api('/api/chat', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ upload: chat.upload.id, messages: chat.turns, temperature: n('temperature'), top_p: n('top_p'),
        top_k: n('top_k'), max_tokens: n('max_tokens'), seed: n('seed') }),
    });
    waiting.remove();
    chat.turns.push({ role: 'assistant', content: r.text });
    addTurn('assistant', r.text || '(empty answer)', `${r.usage.completion_tokens} tokens, ${r.seconds.toFixed(2)} s, ${r.finish_reason}`);
  } catch (e) {
    waiting.remove();
    chat.turns.pop();
    $('chat-error').textContent = e.message;
  } finally {
    $('ask-btn').disabled = false;
    $('question').focus();
  }
}

// ---- review ----
const review = { loaded: false, ds: '', page: 0, size: Math.min(500, Number(new URLSearchParams(location.search).get('size')) || 20), selected: '' };

function reviewError(e) { $('review-error').textContent = e ? e.message || String(e) : ''; }

async function loadDatasets() {
  review.loaded = true;
  try {
    const r = await api('/api/datasets');
    const sel = $('dataset');
    sel.replaceChildren(...r.datasets.map((d) => el('option', { value: d.name },
      `${d.name === '.' ? '(the data folder)' : d.name} — ${d.pairs} pairs`)));
    if (!r.datasets.length) {
      $('dataset-info').textContent = `No feedback outputs (folders with preferences/) under ${r.root}.`;
      return;
    }
    const want = new URLSearchParams(location.search).get('ds');
    if (want && r.datasets.some((d) => d.name === want)) sel.value = want;
    await openDataset();
  } catch (e) { reviewError(e); }
}

async function openDataset() {
  review.ds = $('dataset').value;
  review.page = 0;
  review.selected = '';
  $('detail').replaceChildren(el('p', { class: 'muted' }, 'Pick a pair to see it.'));
  await Promise.all([loadStats(), loadList()]);
}

const q = (o) => new URLSearchParams({ ds: review.ds, ...o }).toString();

function barChart(title, values, labels, cls) {
  const step = Math.max(26, ...labels.map((l) => String(l).length * 6 + 8));
  const w = step * values.length + 10, h = 90, top = Math.max(1, ...values);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', h + 28); svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  values.forEach((v, i) => {
    const bh = Math.round((v / top) * h);
    const r = document.createElementNS(svg.namespaceURI, 'rect');
    const mid = 6 + i * step + step / 2;
    Object.entries({ x: mid - 10, y: h - bh + 12, width: 20, height: Math.max(bh, v ? 1 : 0), class: 'bar ' + (cls ? cls(i) : '') })
      .forEach(([k, val]) => r.setAttribute(k, val));
    const t = document.createElementNS(svg.namespaceURI, 'title'); t.textContent = `${labels[i]}: ${v}`; r.append(t);
    const n = document.createElementNS(svg.namespaceURI, 'text');
    n.setAttribute('x', mid); n.setAttribute('y', h - bh + 9); n.setAttribute('text-anchor', 'middle'); n.textContent = v;
    const l = document.createElementNS(svg.namespaceURI, 'text');
    l.setAttribute('x', mid); l.setAttribute('y', h + 24); l.setAttribute('text-anchor', 'middle'); l.textContent = labels[i];
    svg.append(r, n, l);
  });
  return el('div', { class: 'chart' }, el('h3', {}, title), svg);
}

function figure(title, big, sub) {
  return el('div', { class: 'chart' }, el('h3', {}, title), el('div', { class: 'big' }, big), el('div', { class: 'muted' }, sub));
}

async function loadStats() {
  try {
    const s = await api('/api/stats?' + q({}));
    const j = s.judge;
    const lens = s.length_histogram, bw = s.length_bin_words;
    const labels = lens.map((_, i) => (i === lens.length - 1 ? `${i * bw}+` : `${i * bw}`));
    $('dataset-info').textContent = `${j.pairs} pairs judged, ${j.labeled} labeled, ${j.identical} identical answers dropped, ${s.marked} marked wrong` +
      (Object.keys(s.deadletter_kinds).length ? `, dead letters: ${Object.entries(s.deadletter_kinds).map(([k, v]) => `${k} ${v}`).join(', ')}` : '');
    $('charts').replaceChildren(
      barChart('Label balance', [s.chosen_1, s.chosen_2, s.unlabeled], ['output 1', 'output 2', 'none'], (i) => (i === 2 ? 'alt' : '')),
      figure('Flip rate', pct(j.flip_rate), `${j.disagree} of the pairs with two readable verdicts changed their pick when the order was swapped`),
      figure('Agreement', pct(j.agreement), `the verdict letter was A in ${pct(j.prefer_a)} of verdicts`),
      barChart('Answer lengths (words)', lens, labels),
    );
  } catch (e) { reviewError(e); }
}

function tagFor(row) {
  const label = row.labeled ? el('span', { class: 'tag good' }, `chose ${row.chosen}`) : el('span', { class: 'tag warn' }, row.reason || 'unlabeled');
  return row.marked ? [label, ' ', el('span', { class: 'tag bad marked' }, 'marked wrong')] : label;
}

async function loadList() {
  reviewError(null);
  const show = $('show').value;
  const thead = $('pairs').tHead, tbody = $('pairs').tBodies[0];
  try {
    if (show === 'deadletters') {
      const r = await api('/api/deadletters?' + q({ page: review.page, size: review.size }));
      thead.replaceChildren(el('tr', {}, el('th', {}, 'stage'), el('th', {}, 'kind'), el('th', {}, 'input'), el('th', {}, 'message')));
      tbody.replaceChildren(...(r.rows || []).map((d) => el('tr', { class: 'dead', title: d.detail || '' }, el('td', {}, d.stage), el('td', {}, el('span', { class: 'tag bad' }, d.error_kind)),
        el('td', {}, d.input_ref), el('td', {}, d.message))));
      if (!(r.rows || []).length) tbody.append(el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'No dead letters.')));
      pager(r);
      return;
    }
    const r = await api('/api/pairs?' + q({ show, template: $('template').value, q: $('search').value, page: review.page, size: review.size }));
    const tsel = $('template'), cur = tsel.value;
    tsel.replaceChildren(el('option', { value: '' }, 'any'), ...r.templates.map((t) => el('option', { value: t }, t)));
    tsel.value = cur;
    thead.replaceChildren(el('tr', {}, el('th', {}, 'question'),
      el('th', { title: 'the output each order picked: output 1 shown as A, then output 2 shown as A' }, 'picks'), el('th', {}, 'label')));
    tbody.replaceChildren(...r.rows.map((row) => el('tr', { 'data-id': row.id, class: row.id === review.selected ? 'selected' : '', onclick: () => openPair(row.id) },
      el('td', {}, row.question), el('td', { class: 'picks' }, `${picked(row.forward, 1)} · ${picked(row.swapped, 2)}`), el('td', {}, tagFor(row)))));
    if (!r.rows.length) tbody.append(el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'No pairs match.')));
    pager(r);
  } catch (e) { reviewError(e); }
}

// picked turns a verdict letter into the output it chose, given which output was shown as A.
function picked(letter, shownA) {
  if (letter === 'A') return String(shownA);
  if (letter === 'B') return String(3 - shownA);
  return '?';
}

function pager(r) {
  $('page-info').textContent = r.total ? `page ${r.page + 1} of ${r.pages} · ${r.total} rows` : '0 rows';
  $('prev').disabled = r.page <= 0;
  $('next').disabled = r.page + 1 >= r.pages;
}

function verdictRow(name, v, shownA) {
  return el('tr', {}, el('th', {}, name), el('td', {}, `A = output ${shownA}`),
    el('td', {}, v.letter ? `${v.letter} → output ${picked(v.letter, shownA)}` : 'unreadable'),
    el('td', {}, `p(A) = ${num(v.prob_a)}`), el('td', {}, v.method + (v.raw ? `: “${v.raw}”` : '')));
}

async function openPair(id) {
  review.selected = id;
  for (const tr of $('pairs').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.id === id);
  try {
    const p = await api(`/api/pairs/${encodeURIComponent(id)}?` + q({}));
    const strip = el('div', { class: 'strip', id: 'pair-strip' }, ...Array.from({ length: p.frames }, (_, i) =>
      el('img', { src: `/api/clips/${encodeURIComponent(p.clip_id)}/frames/${i}?` + q({}), alt: `frame ${i + 1}`, loading: 'lazy',
        title: `frame ${i + 1}` + (p.frame_times ? ` at ${(p.frame_times[i] || 0).toFixed(2)} s` : '') })));
    const answer = (n, text) => el('div', { class: 'answer' + (p.labeled && p.chosen === n ? ' chosen' : ''), id: `answer-${n}` },
      el('h4', {}, `Output ${n}`), text);
    const status = p.labeled ? `Labeled: output ${p.chosen} is better (p(output 1) = ${num(p.prob_output_1)})` :
      `No label: ${p.reason} (p(output 1) = ${num(p.prob_output_1)})`;
    const note = el('input', { type: 'text', id: 'mark-note', placeholder: 'why is it wrong? (optional)', value: p.mark.note || '' });
    const markBtn = el('button', { id: 'mark-btn', class: p.marked ? 'ghost' : 'danger', onclick: async () => {
      try {
        const r = await api('/api/marks', { method: 'PUT', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ ds: review.ds, id, mark: p.marked ? '' : 'wrong', note: note.value }) });
        await Promise.all([openPair(id), loadList(), loadStats()]);
        $('mark-state').textContent = r.marked ? 'Marked wrong (saved beside the data).' : 'Mark cleared.';
      } catch (e) { reviewError(e); }
    } }, p.marked ? 'Clear mark' : 'Mark as wrong');
    $('detail').replaceChildren(
      el('h2', {}, p.question),
      el('div', { class: 'muted' }, `pair ${p.id} · clip ${p.clip_id} · judge ${p.judge.model} (${p.judge.template})`),
      p.frames ? strip : el('p', { class: 'muted' }, p.frames_note || 'no frames'),
      el('h4', {}, 'Narrative the judge saw'),
      el('div', { class: 'narrative', id: 'narrative' }, p.context || '(none: this run judged without context)'),
      el('div', { class: 'answers' }, answer(1, p.output_1), answer(2, p.output_2)),
      el('table', { class: 'verdicts' }, el('tbody', {}, verdictRow('forward', p.forward, 1), verdictRow('swapped', p.swapped, 2))),
      el('p', { id: 'pair-status' }, status),
      el('div', { class: 'row' }, markBtn, note, p.marked ? el('span', { class: 'tag bad' }, 'marked wrong') : null),
      el('div', { id: 'mark-state', class: 'muted' }),
    );
  } catch (e) { reviewError(e); }
}

// ---- start ----
async function start() {
  try { info = await api('/api/info'); } catch (e) { document.body.prepend(el('p', { class: 'err' }, e.message)); return; }
  $('chat-off').hidden = info.chat; $('chat-on').hidden = !info.chat;
  $('review-off').hidden = info.review; $('review-on').hidden = !info.review;
  if (info.chat) {
    $('model').textContent = `model: ${info.chat_model} (${info.chat_backend})`;
    $('max_tokens').max = info.limits.max_tokens;
  }
  if (!location.hash) location.hash = info.chat || !info.review ? '#chat' : '#review';
  $('upload-form').addEventListener('submit', uploadVideo);
  $('ask-form').addEventListener('submit', ask);
  $('reset-btn').addEventListener('click', resetConversation);
  $('dataset').addEventListener('change', openDataset);
  for (const id of ['show', 'template']) $(id).addEventListener('change', () => { review.page = 0; loadList(); });
  let timer;
  $('search').addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { review.page = 0; loadList(); }, 250); });
  $('prev').addEventListener('click', () => { review.page--; loadList(); });
  $('next').addEventListener('click', () => { review.page++; loadList(); });
  window.addEventListener('hashchange', showTab);
  showTab();
}
start();
