import { runMain } from '@tributary/runtime';

runMain(['capture']);
