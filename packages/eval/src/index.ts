/**
 * diffpress eval: how every number of the framework is produced (see the evaluation spec).
 *
 * - **Entry point** — {@link evaluate}: samples a model with seeded noise (cached, resumable), embeds the samples
 *   and the reference data with a feature network, and returns {@link ResultRow}s.
 * - **Feature networks** — the shipped MNIST classifier ({@link MnistClassifier}, `models/mnist-classifier-v1`) or
 *   any tfjs graph/layers model from disk ({@link loadFeatureNetwork}), e.g. a converted InceptionV3 for real FID.
 * - **Metrics** — {@link frechetDistance} (at the row's n) and {@link fdInfinity} (FD∞, free of the 1/n bias),
 *   {@link kernelInceptionDistance}, {@link precisionRecall}, {@link classifierScore}, {@link classEntropy}, paired
 *   fidelity ({@link teacherForcedEpsMse}, {@link sampleFidelity}; their rows carry per-sample values), 2-D metrics
 *   ({@link mmdRbf}, {@link slicedWasserstein}, {@link modeCoverage}); the registry {@link METRICS} names and
 *   versions them.
 * - **Comparisons** (evaluation spec §5) — {@link compareRows}: two rows on one metric, paired by seed, as a
 *   difference with its 95 % {@link Interval} ({@link tInterval} over per-seed differences, or {@link pairedBootstrap}
 *   over samples for the per-sample paired metrics) and a {@link Verdict} ({@link verdict}: better / worse /
 *   equivalent / inconclusive); {@link tost}, {@link studentTQuantile}.
 * - **Efficiency** — {@link accountEfficiency}: params, size, MACs, BOPs and OPs from a UNet's shape-only inventory
 *   and per-layer bit-widths, paper-style and as-implemented, per UNet part; {@link measureLatency}.
 *
 * @packageDocumentation
 */
export * from './samples/digest';
export * from './samples/sample-store';
export * from './features/mnist-classifier';
export * from './features/train-classifier';
export * from './features/tfjs-model';
export * from './features/feature-network';
export * from './features/embed';
export * from './metrics/features';
export * from './metrics/frechet';
export * from './metrics/kid';
export * from './metrics/precision-recall';
export * from './metrics/classifier-score';
export * from './metrics/fidelity';
export * from './metrics/toy2d';
export * from './metrics/registry';
export * from './reference/reference-stats';
export * from './efficiency/accounting';
export * from './latency/latency';
export * from './evaluate';
export * from './stats/interval';
export * from './stats/t';
export * from './stats/bootstrap';
export * from './stats/verdict';
export * from './stats/compare';
