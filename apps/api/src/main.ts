import { runMain } from '@tributary/runtime';

runMain(['api']);
