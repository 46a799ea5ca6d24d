// The preprocessing a page using onnxruntime-web or TensorFlow.js would do in JS with a canvas
// (the common recipe): draw the strokes on a full-size canvas (white on black, round pen in
// proportion to the digit's size), copy the digit's bounding box scaled to fit 20x20 into a 28x28
// canvas (drawImage, smoothing on), getImageData, then shift the 28x28 pixels so the center of
// mass is at the center (MNIST's normalization) -> Float32Array of 784 values in [0, 1].
// Both canvases are CPU-backed (willReadFrequently), the fastest choice for getImageData.

export function makeCanvasPreprocess(width = 280, height = 280) {
  const big = new OffscreenCanvas(width, height);
  const ctx = big.getContext('2d', { willReadFrequently: true });
  const small = new OffscreenCanvas(28, 28);
  const sctx = small.getContext('2d', { willReadFrequently: true });
  sctx.imageSmoothingEnabled = true;
  sctx.imageSmoothingQuality = 'high';
  const out = new Float32Array(784);
  const tmp = new Float32Array(784);
  return (strokes) => {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const s of strokes) {
      for (const [x, y] of s) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    const pen = Math.max(2, 0.12 * Math.max(x1 - x0, y1 - y0));
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, width, height);
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineWidth = pen;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    for (const s of strokes) {
      if (s.length === 1) {
        ctx.moveTo(s[0][0] + pen / 2, s[0][1]);
        ctx.arc(s[0][0], s[0][1], pen / 2, 0, 2 * Math.PI);
        continue;
      }
      ctx.moveTo(s[0][0], s[0][1]);
      for (let i = 1; i < s.length; i++) ctx.lineTo(s[i][0], s[i][1]);
    }
    ctx.stroke();
    // The inked box (strokes plus half the pen), fitted into 20x20 keeping the aspect ratio.
    const bx = x0 - pen / 2, by = y0 - pen / 2, bw = x1 - x0 + pen, bh = y1 - y0 + pen;
    const scale = 20 / Math.max(bw, bh);
    const dw = bw * scale, dh = bh * scale;
    sctx.fillStyle = '#000';
    sctx.fillRect(0, 0, 28, 28);
    sctx.drawImage(big, bx, by, bw, bh, (28 - dw) / 2, (28 - dh) / 2, dw, dh);
    const rgba = sctx.getImageData(0, 0, 28, 28).data;
    let mass = 0, mx = 0, my = 0;
    for (let i = 0; i < 784; i++) {
      const v = rgba[4 * i] / 255;
      tmp[i] = v;
      mass += v;
      mx += v * (i % 28);
      my += v * ((i / 28) | 0);
    }
    const sx = mass > 0 ? Math.round(13.5 - mx / mass) : 0;
    const sy = mass > 0 ? Math.round(13.5 - my / mass) : 0;
    out.fill(0);
    for (let y = 0; y < 28; y++) {
      const ty = y + sy;
      if (ty < 0 || ty >= 28) continue;
      for (let x = 0; x < 28; x++) {
        const tx = x + sx;
        if (tx >= 0 && tx < 28) out[ty * 28 + tx] = tmp[y * 28 + x];
      }
    }
    return out;
  };
}
