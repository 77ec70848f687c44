export const fixtureA = 1;
