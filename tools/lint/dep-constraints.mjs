/**
 * The dependency rule of the architecture guide, as Nx tag constraints:
 * core ← diffusion ← eval; method packages depend only on core/diffusion/eval, never on each other; recipes
 * depends on everything it registers; apps depend on recipes (and the foundations); tools may use anything.
 * Every project carries exactly one `layer:*` tag.
 */
export const depConstraints = [
  { sourceTag: 'layer:core', onlyDependOnLibsWithTags: ['layer:core'] },
  { sourceTag: 'layer:diffusion', onlyDependOnLibsWithTags: ['layer:core', 'layer:diffusion'] },
  { sourceTag: 'layer:eval', onlyDependOnLibsWithTags: ['layer:core', 'layer:diffusion', 'layer:eval'] },
  { sourceTag: 'layer:method', onlyDependOnLibsWithTags: ['layer:core', 'layer:diffusion', 'layer:eval'] },
  {
    sourceTag: 'layer:recipes',
    onlyDependOnLibsWithTags: ['layer:core', 'layer:diffusion', 'layer:eval', 'layer:method', 'layer:recipes'],
  },
  { sourceTag: 'layer:app', onlyDependOnLibsWithTags: ['layer:core', 'layer:diffusion', 'layer:eval', 'layer:recipes'] },
  { sourceTag: 'layer:docs', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'layer:tools', onlyDependOnLibsWithTags: ['*'] },
];
