import { GraphBuilder, mulberry32 } from '../../../../models/onnx/builder.ts';

const WIDTH = 16;

export interface SmokeGraph {
  bytes: Uint8Array;
  input: Float32Array;
  dims: number[];
  /** Softmax(Relu(x·W + b)) computed in JavaScript, to check the provider's answer. */
  expected: Float32Array;
}

/**
 * A tiny graph exercising MatMul, Add, Relu and Softmax: enough to prove a provider loads, places
 * common kernels and computes correctly, in a few milliseconds.
 */
export function smokeGraph(): SmokeGraph {
  const rnd = mulberry32(20240611);
  const w = Float32Array.from({ length: WIDTH * WIDTH }, () => rnd() * 2 - 1);
  const b = Float32Array.from({ length: WIDTH }, () => rnd() - 0.5);
  const x = Float32Array.from({ length: WIDTH }, () => rnd() * 2 - 1);

  const g = new GraphBuilder('prunelens_smoke');
  const xin = g.input('x', 'float32', [1, WIDTH]);
  const mm = g.op1('MatMul', [xin, g.constF('w', [WIDTH, WIDTH], w)]);
  const add = g.op1('Add', [mm, g.constF('b', [WIDTH], b)]);
  const relu = g.op1('Relu', [add]);
  g.op1('Softmax', [relu], { axis: -1 }, 'y');
  g.output('y', 'float32', [1, WIDTH]);

  const h = new Float64Array(WIDTH);
  for (let j = 0; j < WIDTH; j++) {
    let s = b[j];
    for (let i = 0; i < WIDTH; i++) s += x[i] * w[i * WIDTH + j];
    h[j] = Math.max(0, s);
  }
  const m = Math.max(...h);
  const e = h.map((v) => Math.exp(v - m));
  const z = e.reduce((a, v) => a + v, 0);
  return { bytes: g.build(), input: x, dims: [1, WIDTH], expected: Float32Array.from(e, (v) => v / z) };
}
