export const fixtureB = 2;
