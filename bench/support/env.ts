/** A size from the environment: a whole number of at least 1 (zero would leave a bench waiting for rows that never come). */
export function positiveEnv(name: string, fallback: number): number {
  return positive(name, process.env[name] ?? String(fallback));
}

/** A comma-separated list of sizes from the environment, each checked as `positiveEnv` does, and at most `max`. */
export function positiveListEnv(name: string, fallback: string, max: number): number[] {
  return (process.env[name] ?? fallback).split(',').map((text) => {
    const value = positive(name, text.trim());
    if (value > max) throw new Error(`${name}: ${value} is more than ${max}`);
    return value;
  });
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: "${text}" is not a whole number of at least 1`);
  return value;
}
