// Dredd hooks for the CDN contract (tests/test_ecosystem.py runs Dredd 14 with them against
// the mock): what Dredd cannot know from the spec alone.
//
// - The token: every operation takes `X-Auth-Token` (S10); the 401 transactions go without.
// - State: the docs' requests name the service 96737ae3-...; before the run two services of
//   our own are created (one that the deleteService transaction removes, one for the rest),
//   and each transaction's path names the one it needs. The docs' patch edits the docs'
//   example service (its second origin, its domains); ours is renamed instead.
// - Statuses a request cannot provoke on purpose (400, 404, 408, 413, 414, 429, 431, 503):
//   asked of the server with `Prefer: code=<status>`, which the mock honours for the
//   documented statuses of each operation (another server skips them: set
//   CDN_DREDD_PREFER=0).
// Usage: dredd spec/cdn-2016-08.openapi.yaml http://127.0.0.1:8080 --hookfiles=tests/dredd_hooks.js
const hooks = require('hooks');
const http = require('http');
const https = require('https');

const TOKEN = process.env.CDN_DREDD_TOKEN || 'dredd';
const PREFER = process.env.CDN_DREDD_PREFER !== '0';
const SAMPLE = '96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0';
const services = {};

function create(transaction, label) {
  const body = JSON.stringify({
    name: `dredd-${label}`,
    domains: [{ domain: `dredd-${label}-${Date.now()}.example.com` }],
    origins: [{ origin: 'origin.example.com' }],
    flavor_id: 'cdn',
  });
  const client = transaction.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request({
      host: transaction.host, port: transaction.port, method: 'POST',
      path: '/v1.0/110011/services',
      headers: { 'X-Auth-Token': TOKEN, 'Content-Type': 'application/json',
                 'Content-Length': Buffer.byteLength(body) },
    }, (response) => {
      response.resume();
      const location = response.headers.location || '';
      if (response.statusCode !== 202 || !location) {
        reject(new Error(`creating a service answered ${response.statusCode}`));
        return;
      }
      resolve(location.split('/').pop());
    });
    request.on('error', reject);
    request.end(body);
  });
}

hooks.beforeAll((transactions, done) => {
  const first = transactions[0];
  Promise.all([create(first, 'kept'), create(first, 'deleted')])
    .then(([kept, deleted]) => { services.kept = kept; services.deleted = deleted; done(); })
    .catch((error) => { hooks.log(`dredd hooks: ${error.message}`); done(); });
});

hooks.beforeEach((transaction, done) => {
  const request = transaction.request;
  const status = transaction.expected.statusCode;
  const removes = request.method === 'DELETE' && !request.uri.split('?')[0].endsWith('/assets');
  const service = removes ? services.deleted : services.kept;
  if (service) {
    request.uri = request.uri.split(SAMPLE).join(service);
    transaction.fullPath = transaction.fullPath.split(SAMPLE).join(service);
  }
  if (request.method === 'PATCH' && status.startsWith('2')) {
    request.body = JSON.stringify([{ op: 'replace', path: '/name', value: 'dredd-renamed' }]);
  }
  if (status === '401') {
    delete request.headers['X-Auth-Token'];
  } else {
    request.headers['X-Auth-Token'] = TOKEN;
  }
  if (!status.startsWith('2') && status !== '401') {
    if (PREFER) {
      request.headers.Prefer = `code=${status}`;
    } else {
      transaction.skip = true;
    }
  }
  done();
});
