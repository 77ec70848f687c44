import * as tf from '@tensorflow/tfjs';
import { BACKEND_ENV_VAR, engineInfo, initEngine, requestedBackend, wasmHeapBytes } from './backend';

describe('requestedBackend', () => {
  it('prefers the option, then the environment variable, then auto', () => {
    expect(requestedBackend('cpu', { [BACKEND_ENV_VAR]: 'wasm' })).toEqual({ name: 'cpu', chosenBy: 'option' });
    expect(requestedBackend(undefined, { [BACKEND_ENV_VAR]: ' WASM ' })).toEqual({ name: 'wasm', chosenBy: 'env' });
    expect(requestedBackend(undefined, { [BACKEND_ENV_VAR]: 'auto' })).toEqual({ name: 'auto', chosenBy: 'auto' });
    expect(requestedBackend(undefined, {})).toEqual({ name: 'auto', chosenBy: 'auto' });
  });

  it('rejects unknown names, listing the valid ones', () => {
    expect(() => requestedBackend(undefined, { [BACKEND_ENV_VAR]: 'webgl' })).toThrow(
      /unknown backend 'webgl' \(environment variable DIFFPRESS_BACKEND\); expected one of tensorflow, wasm, cpu or auto/,
    );
  });
});

describe('initEngine', () => {
  const lines: string[] = [];
  const log = (l: string): void => {
    lines.push(l);
  };
  const noTfjsNode = (id: string): unknown => {
    if (id === '@tensorflow/tfjs-node') throw new Error(`Cannot find module '${id}'`);
    return require(id);
  };

  beforeEach(() => {
    lines.length = 0;
  });

  it('without tfjs-node picks wasm, installs the training kernels, prints once and records the choice', async () => {
    const info = await initEngine({ env: {}, load: noTfjsNode, log });
    expect(info).toMatchObject({ backend: 'wasm', chosenBy: 'auto', threads: 1, trainingKernels: true, tfjsVersion: tf.version_core });
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.env().getBool('PROD')).toBe(true);
    await initEngine({ env: {}, load: noTfjsNode, log });
    expect(lines).toEqual([`diffpress: backend wasm (${info.simd ? 'simd' : 'no simd'}, 1 thread; auto)`]);
    expect(engineInfo()).toBe(info);
  });

  it('wasmHeapBytes reads the wasm heap, which grows with a large tensor and is null on cpu', async () => {
    await initEngine({ env: {}, load: noTfjsNode, log });
    const before = wasmHeapBytes() as number;
    expect(before).toBeGreaterThan(0);
    const big = tf.zeros([before / 4 + 1024]);
    expect(wasmHeapBytes() as number).toBeGreaterThan(before);
    big.dispose();
    await tf.setBackend('cpu');
    expect(wasmHeapBytes()).toBeNull();
  });

  it('follows DIFFPRESS_BACKEND', async () => {
    const info = await initEngine({ env: { [BACKEND_ENV_VAR]: 'cpu' }, load: noTfjsNode, log });
    expect(info).toMatchObject({ backend: 'cpu', chosenBy: 'env', trainingKernels: true });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('uses tfjs-node automatically when it resolves', async () => {
    // Stand-in for @tensorflow/tfjs-node: loading it registers a 'tensorflow' backend with this tfjs-core.
    const cpu = tf.findBackend('cpu');
    if (cpu == null) throw new Error('cpu backend missing');
    const CpuBackend = cpu.constructor as new () => tf.KernelBackend;
    const loaded: string[] = [];
    const withTfjsNode = (id: string): unknown => {
      loaded.push(id);
      if (id === '@tensorflow/tfjs-node') {
        tf.registerBackend('tensorflow', () => new CpuBackend(), 0);
        return {};
      }
      return require(id);
    };
    // A fresh module instance: this process already chose a backend, and auto mode keeps an earlier choice.
    let fresh: typeof import('./backend') | undefined;
    jest.isolateModules(() => {
      fresh = require('./backend') as typeof import('./backend');
    });
    if (fresh == null) throw new Error('could not load a fresh engine module');
    try {
      const info = await fresh.initEngine({ env: {}, load: withTfjsNode, log });
      expect(loaded).toEqual(['@tensorflow/tfjs-node']);
      expect(info).toMatchObject({ backend: 'tensorflow', chosenBy: 'auto', trainingKernels: false });
      expect(lines.at(-1)).toMatch(/^diffpress: backend tensorflow \(\d+ threads?; auto\)$/);
    } finally {
      await initEngine({ backend: 'cpu', quiet: true });
      tf.removeBackend('tensorflow');
    }
  });

  it('a forced backend that cannot load is an error naming the module, not a fallback', async () => {
    await expect(initEngine({ backend: 'tensorflow', load: noTfjsNode, quiet: true })).rejects.toThrow(
      /no usable backend\. @tensorflow\/tfjs-node could not be loaded \(Cannot find module '@tensorflow\/tfjs-node'\)/,
    );
    expect(tf.getBackend()).toBe('cpu');
  });
});
