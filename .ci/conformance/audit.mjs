// GraphQL over HTTP conformance: graphql-http's server audit against a running fourway
// (run it through .ci/with-server, which gives FOURWAY_URL and FOURWAY_KEY). Every audit
// must be ok: a failed MUST (error) and a failed SHOULD or MAY (warning) both fail the run.
import { auditServer } from 'graphql-http';

const base = process.env.FOURWAY_URL;
const key = process.env.FOURWAY_KEY;
if (!base || !key) {
  console.error('Set FOURWAY_URL and FOURWAY_KEY (or run this through .ci/with-server).');
  process.exit(2);
}

// Every request carries the key; the audit's own headers are kept as they are.
function fetchWithKey(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url: `${base}/graphql`, fetchFn: fetchWithKey });
const counts = { ok: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  if (result.status !== 'ok') {
    const status = result.response ? ` (HTTP ${result.response.status})` : '';
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}${status}`);
  }
}
console.log(
  `graphql-http audit: ${results.length} checks, ${counts.ok} ok, ${counts.warn} warnings, ` +
    `${counts.error} errors`,
);
process.exit(counts.ok === results.length ? 0 : 1);
