/**
 * `@diffpress/core`: the tensor engine every diffpress package builds on.
 *
 * @packageDocumentation
 */
export * from './engine/backend';
export * from './engine/kernels/register';
