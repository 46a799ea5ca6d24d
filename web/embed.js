// The widget demo page: shows the events the elements fire.
const basic = document.getElementById('basic');
const log = document.getElementById('basic-log');
let events = 0;
basic.addEventListener('recognize', (e) => {
  const d = e.detail;
  events++;
  log.textContent = d.empty ? 'recognize: nothing drawn'
    : `recognize: value "${d.value}", p = ${d.digits[0].probabilities[d.digits[0].digit].toFixed(3)}, ` +
      `${d.digits[0].doubt}${d.digits[0].alternatives.length ? ` (or ${d.digits[0].alternatives.map((a) => a.label).join(', ')})` : ''}, ` +
      `${d.milliseconds.toFixed(2)} ms${d.final ? ' (final)' : ''}; ${events} events so far`;
});
basic.addEventListener('correct', (e) => { log.textContent = `correct: digit ${e.detail.index + 1} is ${e.detail.label}, value "${e.detail.value}"`; });
basic.addEventListener('error', (e) => { log.textContent = `error: ${e.detail.message}`; });

const form = document.getElementById('form');
const out = document.getElementById('form-out');
form.addEventListener('submit', (e) => {
  e.preventDefault();
  out.textContent = `Submitted: stars=${new FormData(form).get('stars')}`;
});
form.addEventListener('reset', () => { out.textContent = ''; });
