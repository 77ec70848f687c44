/**
 * Facts about the network call in progress that the layers deep inside it need but that no forward signature
 * carries: which sampler step each batch row belongs to. Per-step layers (TFMQ-DM's per-step activation
 * quantizers, BiDM's per-bucket connection weights) read it; the sampler sets it around every model call.
 *
 * It is a dynamic scope, not a module field, because one model call may carry rows of different steps (Faster
 * Diffusion's parallel decoding batches the decoder calls of several steps) and because a module that is shared by
 * two pipelines must not remember the step of the last call.
 */
export interface CallContext {
  /**
   * Sampler step index of every batch row (0 = the noisiest step), when a sampler made the call. Rows may differ.
   * Absent outside a sampler step.
   */
  readonly stepIndices?: readonly number[];
  /**
   * Model times of the rows (the UNet's time input), read lazily because reading a tensor synchronises; set by a
   * network that is called directly with times, so per-step layers can look their step up by time.
   */
  readonly modelTimes?: () => ArrayLike<number>;
}

const stack: CallContext[] = [];

/**
 * Runs `fn` with `context` visible to {@link callContext}; fields it leaves out are inherited from the enclosing
 * context. Synchronous, like tfjs forward passes.
 *
 * @example
 * ```ts
 * const eps = withCallContext({ stepIndices: [3, 3, 4, 4] }, () => unet.forward(z, t));
 * ```
 */
export function withCallContext<T>(context: CallContext, fn: () => T): T {
  const outer = stack[stack.length - 1];
  stack.push(outer ? { ...outer, ...definedFields(context) } : context);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

/** The innermost context set by {@link withCallContext}, or `undefined` outside any. */
export function callContext(): CallContext | undefined {
  return stack[stack.length - 1];
}

function definedFields(context: CallContext): CallContext {
  const out: { -readonly [K in keyof CallContext]?: CallContext[K] } = {};
  if (context.stepIndices !== undefined) out.stepIndices = context.stepIndices;
  if (context.modelTimes !== undefined) out.modelTimes = context.modelTimes;
  return out;
}
