export * from './registry/suggest';
export * from './registry/registry';
export * from './recipe/schema';
export * from './recipe/zod-walk';
export * from './recipe/validate';
export * from './ablation/paths';
export * from './ablation/expand';
