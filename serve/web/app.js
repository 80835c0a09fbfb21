// The draw-a-digit page: draw with a mouse, a pen or a finger; the drawing
// is sent as a PNG to v1/classify, which frames it as MNIST's digits were
// made and answers the class, the ten probabilities and the 28x28 image the
// model saw.
(function () {
  'use strict';
  const pad = document.getElementById('pad');
  const ctx = pad.getContext('2d');
  const prediction = document.getElementById('prediction');
  const confidence = document.getElementById('confidence');
  const seen = document.getElementById('seen');
  const status = document.getElementById('status');
  const barsList = document.getElementById('bars');
  // The brush is 1/14 of the canvas (20 pixels of 280): MNIST's stroke
  // width once the drawing is framed.
  function brush() { return pad.width / 14; }
  const BLANK_SEEN = 'data:image/svg+xml,' + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><rect width="28" height="28"/></svg>');

  // Ten bars, 0 to 9.
  const bars = [];
  for (let d = 0; d < 10; d++) {
    const li = document.createElement('li');
    li.id = 'bar' + d;
    li.innerHTML = '<span class="digit">' + d + '</span><span class="track"><span class="fill"></span></span><span class="pct">0%</span>';
    barsList.appendChild(li);
    bars.push({ li: li, fill: li.querySelector('.fill'), pct: li.querySelector('.pct') });
  }

  let drawn = false;
  function clear() {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, pad.width, pad.height);
    drawn = false;
    prediction.textContent = '?';
    confidence.textContent = '';
    seen.src = BLANK_SEEN;
    bars.forEach(function (b) { b.li.style.setProperty('--p', '0'); b.pct.textContent = '0%'; b.li.classList.remove('top'); });
    setStatus('Draw a digit from 0 to 9 in the box.');
  }

  function setStatus(text, isError) {
    status.textContent = text;
    status.classList.toggle('error', !!isError);
  }

  // Drawing: pointer events cover mouse, pen and touch alike.
  let last = null;
  function point(e) {
    const r = pad.getBoundingClientRect();
    return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
  }
  function line(a, b) {
    if (Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5) { // a dot: a zero-length line paints nothing
      ctx.fillStyle = '#000';
      ctx.beginPath();
      ctx.arc(a.x, a.y, brush() / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.strokeStyle = '#000';
    ctx.lineWidth = brush();
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }
  pad.addEventListener('pointerdown', function (e) {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    last = point(e);
    line(last, last); // a dot
    drawn = true;
  });
  pad.addEventListener('pointermove', function (e) {
    if (!last) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of (events.length ? events : [e])) {
      const p = point(ev);
      line(last, p);
      last = p;
    }
    schedule(false);
  });
  function end(e) {
    if (!last) return;
    last = null;
    schedule(true);
  }
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  document.getElementById('clear').addEventListener('click', clear);

  // Classification: at most one request in flight; while drawing, a new
  // one at most every 200 ms; always one after a stroke ends.
  let busy = false, again = false, lastSent = 0;
  function schedule(now) {
    if (!drawn) return;
    if (busy) { again = true; return; }
    if (!now && performance.now() - lastSent < 200) return;
    send();
  }
  function send() {
    busy = true;
    document.body.dataset.busy = '1';
    again = false;
    lastSent = performance.now();
    pad.toBlob(function (blob) {
      fetch('v1/classify', { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: blob })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; }); })
        .then(function (res) {
          if (!drawn) return; // cleared meanwhile
          if (!res.ok) {
            setStatus(res.body.error || ('error ' + res.status), res.status !== 422);
            return;
          }
          show(res.body);
        })
        .catch(function (err) { setStatus('Cannot reach the server: ' + err.message, true); })
        .finally(function () {
          busy = false;
          if (again) schedule(true);
          document.body.dataset.busy = busy ? '1' : '0'; // for tests: no answer pending
        });
    }, 'image/png');
  }

  function show(r) {
    prediction.textContent = String(r.class);
    confidence.textContent = (100 * r.probabilities[r.class]).toFixed(1) + '% sure';
    seen.src = 'data:image/png;base64,' + r.image;
    r.probabilities.forEach(function (p, d) {
      const b = bars[d];
      if (!b) return;
      b.li.style.setProperty('--p', p.toFixed(4));
      b.pct.textContent = (100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1) + '%';
      b.li.classList.toggle('top', d === r.class);
    });
    document.getElementById('model').textContent = r.model;
    document.getElementById('modelwrap').hidden = false;
    setStatus('Draw over it, or clear to start again.');
    document.body.dataset.answered = String(r.class); // for tests: the page has an answer
  }

  // A canvas as sharp as the screen: as many pixels as the device has
  // under it (at most 1024 a side). Resizing it clears it, so only a real
  // change of width (a rotation) does.
  function fit() {
    const r = pad.getBoundingClientRect();
    const px = Math.round(Math.min(1024, Math.max(140, r.width * (window.devicePixelRatio || 1))));
    if (r.width > 0 && px !== pad.width) {
      pad.width = pad.height = px;
      return true;
    }
    return false;
  }
  let resizeTimer = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { if (fit()) clear(); }, 150);
  });

  fit();
  clear();
})();
