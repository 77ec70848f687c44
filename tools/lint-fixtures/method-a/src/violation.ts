// Deliberate violation: a method package importing another method package.
import { fixtureB } from '@diffpress/lint-fixture-method-b';

export const sum = fixtureB + 1;
