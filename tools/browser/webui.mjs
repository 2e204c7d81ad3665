// webui.mjs drives `vrlaif serve`'s web page in the system Chromium, as a person would, and checks
// what it shows at each step. The Go test (cmd/vrlaif/webui_browser_test.go) starts the server and
// checks the files the page changed; this script only talks to the page.
//
//   node tools/browser/webui.mjs '{"url":"http://127.0.0.1:PORT/","video":"a.mp4","bad":"b.mp4","shots":"DIR","size":5}'
//
// Prints one JSON object with what it saw (the answers, the marked pair's id, page counts) on stdout;
// a failed check exits with status 1 and says which, with a screenshot of the moment in DIR.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const cfg = JSON.parse(process.argv[2]);
const chromePath = process.env.VRLAIF_CHROMIUM || '/usr/bin/chromium';
fs.mkdirSync(cfg.shots, { recursive: true });
const seen = { console_errors: [] };

const browser = await chromium.launch({ executablePath: chromePath, args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
// HTTP errors are checked by response (the one refusal we cause on purpose is allowed); console
// errors of any other kind fail the run.
seen.http_errors = [];
page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) seen.console_errors.push(m.text()); });
page.on('response', (r) => {
  const expected = r.status() === 422 && r.request().method() === 'POST' && r.url().endsWith('/api/uploads');
  if (r.status() >= 400 && !expected) seen.http_errors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
});
page.on('pageerror', (e) => seen.console_errors.push(String(e)));
page.setDefaultTimeout(60000);

let step = 'start';
const shot = (name) => page.screenshot({ path: path.join(cfg.shots, name + '.png'), fullPage: true });
function check(ok, what) { if (!ok) throw new Error(`${step}: ${what}`); }

try {
  // --- chat about a video ---
  step = 'chat: open';
  await page.goto(cfg.url + '#chat');
  await page.waitForSelector('#chat-on:not([hidden])');
  step = 'chat: upload a synthetic clip';
  await page.setInputFiles('#video', cfg.video);
  await page.click('#upload-btn');
  await page.waitForFunction(() => /frames sampled/.test(document.querySelector('#upload-status').textContent));
  const nFrames = await page.$$eval('#upload-strip img', (imgs) => imgs.length);
  check(nFrames > 0, 'no frame strip after the upload');
  await page.waitForFunction(() => [...document.querySelectorAll('#upload-strip img')].every((i) => i.complete && i.naturalWidth > 0));
  seen.upload_status = await page.textContent('#upload-status');
  seen.upload_frames = nFrames;

  step = 'chat: ask a question';
  await page.click('details.settings summary');
  await page.fill('#max_tokens', '12');
  await page.fill('#question', 'What color is the square?');
  await page.click('#ask-btn');
  await page.waitForFunction(() => document.querySelectorAll('.turn.assistant .meta').length === 1);
  seen.answer_1 = await page.textContent('.turn.assistant .text');
  step = 'chat: a second turn';
  await page.fill('#temperature', '0.7');
  await page.fill('#seed', '3');
  await page.fill('#question', 'Where does it move?');
  await page.click('#ask-btn');
  await page.waitForFunction(() => document.querySelectorAll('.turn.assistant .meta').length === 2);
  seen.answers = await page.$$eval('.turn.assistant .text', (t) => t.map((x) => x.textContent));
  seen.turns = await page.$$eval('.turn', (t) => t.map((x) => x.className.replace('turn ', '')));
  check(seen.turns.join(',') === 'user,assistant,user,assistant', 'turns are ' + seen.turns.join(','));
  check((await page.textContent('#chat-error')) === '', 'chat error: ' + (await page.textContent('#chat-error')));
  await shot('chat');

  step = 'chat: a file that is not a video';
  await page.setInputFiles('#video', cfg.bad);
  await page.click('#upload-btn');
  await page.waitForSelector('#upload-status.err');
  seen.bad_upload = await page.textContent('#upload-status');
  check(/not a video|corrupt|cannot be read/.test(seen.bad_upload), 'bad upload said: ' + seen.bad_upload);
  await shot('chat-bad-upload');

  // --- review preferences ---
  step = 'review: open';
  await page.goto(cfg.url + `?size=${cfg.size}#review`);
  await page.waitForSelector('#review-on:not([hidden])');
  await page.waitForSelector('#pairs tbody tr[data-id]');
  await page.waitForSelector('#charts .chart svg');
  seen.datasets = await page.$$eval('#dataset option', (o) => o.map((x) => x.value));
  seen.dataset_info = await page.textContent('#dataset-info');
  seen.charts = await page.$$eval('#charts .chart h3', (h) => h.map((x) => x.textContent));
  const info1 = await page.textContent('#page-info');
  const m = info1.match(/page 1 of (\d+) · (\d+) rows/);
  check(m, 'page info says ' + info1);
  seen.pages = Number(m[1]); seen.total = Number(m[2]);
  const rows1 = await page.$$eval('#pairs tbody tr[data-id]', (r) => r.map((x) => x.dataset.id));
  check(rows1.length === Math.min(cfg.size, seen.total), `page 1 has ${rows1.length} rows`);
  await shot('review-list');

  step = 'review: next page';
  check(seen.pages > 1, 'only one page: give the test more pairs or a smaller size');
  await page.click('#next');
  await page.waitForFunction(() => /^page 2 of/.test(document.querySelector('#page-info').textContent));
  const rows2 = await page.$$eval('#pairs tbody tr[data-id]', (r) => r.map((x) => x.dataset.id));
  check(rows2.length > 0 && rows2.every((id) => !rows1.includes(id)), 'page 2 repeats rows of page 1');
  await page.click('#prev');
  await page.waitForFunction(() => /^page 1 of/.test(document.querySelector('#page-info').textContent));

  step = 'review: filter labeled';
  await page.selectOption('#show', 'labeled');
  await page.waitForFunction(() => !/· \d+ rows/.test(document.querySelector('#page-info').textContent) ||
    [...document.querySelectorAll('#pairs tbody tr[data-id] .tag')].every((t) => t.classList.contains('good')));
  // (no pair is marked yet, so every row has exactly one tag)
  seen.labeled_tags = await page.$$eval('#pairs tbody tr[data-id] .tag', (t) => t.map((x) => x.textContent));
  check(seen.labeled_tags.every((t) => /^chose [12]$/.test(t)), 'labeled filter shows ' + seen.labeled_tags.join(','));
  seen.labeled_info = await page.textContent('#page-info');

  step = 'review: search question text';
  await page.selectOption('#show', 'all');
  await page.waitForSelector('#pairs tbody tr[data-id]');
  const word = cfg.search;
  await page.fill('#search', word);
  await page.waitForFunction((w) => {
    const qs = [...document.querySelectorAll('#pairs tbody tr[data-id] td:first-child')].map((td) => td.textContent.toLowerCase());
    return qs.length > 0 && qs.every((q) => q.includes(w));
  }, word);
  seen.search_info = await page.textContent('#page-info');
  await page.fill('#search', '');
  await page.waitForFunction((t) => document.querySelector('#page-info').textContent.endsWith(`· ${t} rows`), seen.total);

  step = 'review: dead letters';
  await page.selectOption('#show', 'deadletters');
  await page.waitForFunction(() => document.querySelector('#pairs thead th')?.textContent === 'stage' &&
    (document.querySelector('#pairs tbody tr.dead') || /No dead letters/.test(document.querySelector('#pairs tbody').textContent)));
  seen.deadletters = await page.$$eval('#pairs tbody tr.dead', (r) => r.map((x) => [...x.cells].map((c) => c.textContent)));
  await shot('review-deadletters');
  await page.selectOption('#show', 'all');
  await page.waitForSelector('#pairs tbody tr[data-id]');

  step = 'review: open a pair';
  const target = rows1[0];
  await page.click(`#pairs tbody tr[data-id="${target}"]`);
  await page.waitForSelector('#pair-strip img');
  await page.waitForFunction(() => [...document.querySelectorAll('#pair-strip img')].every((i) => i.complete && i.naturalWidth > 0));
  seen.pair = {
    id: target,
    question: await page.textContent('#detail h2'),
    frames: await page.$$eval('#pair-strip img', (i) => i.length),
    narrative: await page.textContent('#narrative'),
    output_1: await page.textContent('#answer-1'),
    output_2: await page.textContent('#answer-2'),
    chosen: await page.$$eval('.answer.chosen', (a) => a.map((x) => x.id)),
    verdicts: await page.$$eval('.verdicts tr', (r) => r.map((x) => [...x.cells].map((c) => c.textContent))),
    status: await page.textContent('#pair-status'),
  };
  check(seen.pair.verdicts.length === 2, 'two verdicts expected');
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(widths[0] <= widths[1] + 1, `the pair view widens the page to ${widths[0]} px (window ${widths[1]} px): the frame strip must scroll`);
  await shot('review-pair');

  step = 'review: mark it wrong';
  await page.fill('#mark-note', 'browser test: the judge missed the colour');
  await page.click('#mark-btn');
  await page.waitForFunction(() => /Marked wrong/.test(document.querySelector('#mark-state')?.textContent || ''));
  await page.waitForFunction((id) => document.querySelector(`#pairs tbody tr[data-id="${id}"] .tag.marked`)?.textContent === 'marked wrong', target);
  seen.marked_id = target;
  await shot('review-marked');
  step = 'review: filter marked';
  await page.selectOption('#show', 'marked');
  await page.waitForFunction(() => /· 1 rows$/.test(document.querySelector('#page-info').textContent));
  const marked = await page.$$eval('#pairs tbody tr[data-id]', (r) => r.map((x) => x.dataset.id));
  check(marked.length === 1 && marked[0] === target, 'marked filter shows ' + marked.join(','));
  seen.stats_after_mark = await page.textContent('#dataset-info');
  check(seen.console_errors.length === 0, 'console errors: ' + seen.console_errors.join(' | '));
  check(seen.http_errors.length === 0, 'HTTP errors: ' + seen.http_errors.join(' | '));
  console.log(JSON.stringify(seen));
} catch (e) {
  await shot('failure').catch(() => {});
  console.error(e.message);
  console.error('seen so far: ' + JSON.stringify(seen));
  await browser.close();
  process.exit(1);
}
await browser.close();
