/** Query parameters that carry credentials (libpq's `password`, `sslpassword`; tokens and signatures of webhook URLs). */
const SECRET_PARAM = /pass|secret|token|key|sig|auth/i;

/** A URL fit for logs, errors and API answers: the password and credential-like query values become `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const name of new Set(parsed.searchParams.keys())) {
      if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, '***');
    }
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
