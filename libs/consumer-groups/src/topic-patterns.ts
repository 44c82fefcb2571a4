/** `src.public.*` -> `src.public.%`, with LIKE's own wildcards escaped. */
export function globToLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}
