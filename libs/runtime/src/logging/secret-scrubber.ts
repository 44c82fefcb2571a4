import { redactUrl } from '@tributary/config';

/** URLs in free text; stops at whitespace, quotes, backslashes (JSON escapes) and control characters (ANSI colours). */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>\\\p{Cc}]+/giu;
/** Sentence punctuation after a URL belongs to the sentence. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;
/** `user:password@` of a URL that `new URL` cannot parse. */
const USERINFO_PASSWORD = /(\/\/[^/:@\s]*):[^/@\s]*@/;
/** libpq key/value connection strings and query strings: `password=…`, `token=…`. */
const SECRET_ASSIGNMENT = /\b(password|passwd|pwd|sslpassword|secret|token|access_token|api[_-]?key)=([^\s&"'`\\,;]+)/gi;
/** Webhook signing secrets (`whsec_` + base64) and API tokens (`trb_` + base64url). */
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9+/=_-]+/g;
const API_TOKEN = /\btrb_[A-Za-z0-9_-]{16,}/g;
/** Credentials of an `Authorization` header quoted in text. */
const AUTHORIZATION_CREDENTIALS = /\b(Bearer|Basic) [A-Za-z0-9._~+/-]{8,}=*/g;
/** A JSON string member whose name says it is a credential (`"password": "…"`, `"authorization":"…"`). */
const SECRET_MEMBER =
  /"([^"\\]*(?:password|passwd|secret|token|authorization|cookie|api[-_]?key)[^"\\]*)"(\s*):(\s*)"(?:[^"\\]|\\.)*"/gi;
/** The same member as Node's util.inspect prints it in Nest's text lines (`password: '…'`, maybe coloured). */
const SECRET_INSPECTED_MEMBER =
  /(['"]?)([\w-]*(?:password|passwd|secret|token|authorization|cookie|api[-_]?key)[\w-]*)\1: ((?:\p{Cc}\[\d+m)?)'(?:[^'\\]|\\.)*'/giu;

/**
 * Log text with the credentials in it masked: passwords and credential-like query values of URLs (as
 * redactUrl masks them), `password=` style assignments, webhook secrets, API tokens, `Authorization`
 * credentials and JSON members named like a secret. The logger applies it to every line it writes, so
 * a secret that reaches a message by mistake (an error quoting a connection string, say) still stays
 * out of the logs. Replacements never add quotes or backslashes: a JSON line stays valid JSON.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(URL_IN_TEXT, redactUrlInText)
    .replace(SECRET_ASSIGNMENT, '$1=***')
    .replace(WEBHOOK_SECRET, 'whsec_***')
    .replace(API_TOKEN, 'trb_***')
    .replace(AUTHORIZATION_CREDENTIALS, '$1 ***')
    .replace(SECRET_MEMBER, '"$1"$2:$3"***"')
    .replace(SECRET_INSPECTED_MEMBER, "$1$2$1: $3'***'");
}

function redactUrlInText(match: string): string {
  const punctuation = TRAILING_PUNCTUATION.exec(match)?.[0] ?? '';
  const url = match.slice(0, match.length - punctuation.length);
  // Only URLs that can hold a credential are rewritten; the others keep their exact spelling.
  if (!url.includes('@') && !url.includes('?')) return match;
  const redacted = redactUrl(url);
  if (redacted !== '<invalid url>') return redacted + punctuation;
  return url.replace(USERINFO_PASSWORD, '$1:***@') + punctuation;
}
