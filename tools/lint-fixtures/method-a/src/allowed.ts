// Allowed: a method package importing core.
import { BACKEND_PREFERENCE } from '@diffpress/core';

export const first = BACKEND_PREFERENCE[0];
