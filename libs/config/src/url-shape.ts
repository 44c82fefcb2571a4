export const URL_PARSE_ERROR = 'is not a valid URL (percent-encode special characters in the password, e.g. # as %23)';

/** The drivers parse connection strings as WHATWG URLs: what fails here would fail at connect time. */
export function parsesAsUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
