// A real OpenID Connect provider for Latch's single sign-on tests: panva's
// oidc-provider, configured from the environment. Only the interaction pages
// (where a person types who they are) are written here, as every deployment
// of oidc-provider writes its own; the protocol is the library's.
//
// Environment:
//   PORT           port on 127.0.0.1 to listen on
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URI   the one registered client (Latch)
//   ACCOUNTS       JSON: {"alice": {"email": "...", "email_verified": true, "name": "...", "groups": ["..."]}}
//   CLAIMS_IN_ID_TOKEN  "0" to keep profile claims out of the ID token (userinfo only)
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
  conformIdTokenClaims: process.env.CLAIMS_IN_ID_TOKEN === '0',
  findAccount: async (_ctx, id) => (accounts[id]
    ? { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) }
    : undefined),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
});

const readBody = (req) => new Promise((resolve, reject) => {
  let data = '';
  req.on('data', (c) => { data += c; });
  req.on('end', () => resolve(data));
  req.on('error', reject);
});

const page = (res, status, html) => {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><html><body>${html}</body></html>`);
};

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    if (req.method === 'POST' && action === 'login') {
      const login = new URLSearchParams(await readBody(req)).get('login') || '';
      if (!accounts[login]) {
        return page(res, 401, `<p id="error">unknown user</p>`);
      }
      return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    }
    return page(res, 200, `<form method="post" action="/interaction/${uid}/login"><input name="login"><button>Sign in</button></form>`);
  }
  if (details.prompt.name === 'consent') {
    const { accountId } = details.session;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return page(res, 400, `<p>unexpected prompt ${details.prompt.name}</p>`);
}

const callback = provider.callback();
http.createServer(async (req, res) => {
  try {
    const m = new URL(req.url, issuer).pathname.match(/^\/interaction\/([^/]+)(?:\/(login))?$/);
    if (m) {
      await interaction(req, res, m[1], m[2]);
      return;
    }
    callback(req, res);
  } catch (e) {
    page(res, 500, `<pre>${String(e)}</pre>`);
  }
}).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
