import type { GraphBuilder, AttrValue } from '../onnx/builder.ts';

/** Thin, typed shorthands over GraphBuilder for the probe's graphs (opset 17 operator signatures). */
export class Ops {
  constructor(readonly g: GraphBuilder) {}

  /** Float32 constant with a readable, unique name. */
  constF(prefix: string, dims: number[], values: ArrayLike<number>): string {
    return this.g.constF(this.g.fresh(prefix), dims, values);
  }

  constI(prefix: string, dims: number[], values: ArrayLike<number>): string {
    return this.g.constI(this.g.fresh(prefix), dims, values);
  }

  scalar(v: number): string {
    return this.constF('scalar', [], [v]);
  }

  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.g.op1(type, inputs, attrs, output);
  }

  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }
  addS(a: string, v: number): string {
    return this.add(a, this.scalar(v));
  }
  mulS(a: string, v: number): string {
    return this.mul(a, this.scalar(v));
  }
  /** y = k·(x − c). */
  affine(x: string, c: number, k: number): string {
    return this.mulS(this.addS(x, -c), k);
  }
  square(a: string): string {
    return this.mul(a, a);
  }
  unary(type: 'Sqrt' | 'Exp' | 'Relu' | 'Sigmoid' | 'Abs' | 'Neg', a: string): string {
    return this.op(type, [a]);
  }
  max(a: string, b: string): string {
    return this.op('Max', [a, b]);
  }
  min(a: string, b: string): string {
    return this.op('Min', [a, b]);
  }
  /** x / (x + half): 0 at 0, ½ at `half`, → 1. */
  saturate(x: string, half: number): string {
    return this.div(x, this.addS(x, half));
  }
  /** Channels [start, end) of axis `axis`. */
  slice(x: string, axis: number, start: number, end: number): string {
    return this.op('Slice', [x, this.constI('starts', [1], [start]), this.constI('ends', [1], [end]), this.constI('axes', [1], [axis])]);
  }
  gather(x: string, axis: number, indices: number[]): string {
    return this.op('Gather', [x, this.constI('idx', [indices.length], indices)], { axis });
  }
  concat(xs: string[], axis: number, output?: string): string {
    return this.op('Concat', xs, { axis }, output);
  }
  reshape(x: string, shape: number[]): string {
    return this.op('Reshape', [x, this.constI('shape', [shape.length], shape)]);
  }
  /** ReduceMean / ReduceMax / ReduceMin / ReduceSumSquare take `axes` as an attribute in opset 17. */
  reduce(type: 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceSumSquare', x: string, axes: number[], keepdims: 0 | 1, output?: string): string {
    return this.op(type, [x], { axes, keepdims }, output);
  }
  /** ReduceSum takes `axes` as an input since opset 13. */
  reduceSum(x: string, axes: number[], keepdims: 0 | 1): string {
    return this.op('ReduceSum', [x, this.constI('axes', [axes.length], axes)], { keepdims });
  }
  /** 1×1 convolution = per-pixel linear map W [out, in] (+ bias). */
  conv1x1(x: string, w: number[][], bias?: number[]): string {
    const out = w.length;
    const inp = w[0].length;
    const inputs = [x, this.constF('w1x1', [out, inp, 1, 1], w.flat())];
    if (bias) inputs.push(this.constF('b1x1', [out], bias));
    return this.op('Conv', inputs, { kernel_shape: [1, 1] });
  }
  /** Mean over non-overlapping k×k blocks (the patch grid). */
  patchMean(x: string, k: number): string {
    return this.op('AveragePool', [x], { kernel_shape: [k, k], strides: [k, k] });
  }
}
