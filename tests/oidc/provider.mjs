// A real OpenID provider (the certified npm package oidc-provider) for the portal's single sign-on tests.
//
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Serves the issuer http://127.0.0.1:PORT with one confidential client. Test hooks, for the tests only:
//   POST /test/accounts {"sub": ..., "email": ..., "name": ..., "preferred_username": ..., "groups": [...]}
//       adds or replaces an account;
//   POST /test/mode {"mode": "normal" | "bad-signature" | "wrong-audience" | "expired"}
//       bad-signature: the JWKS served lists another key under the signing key's kid, so the ID tokens'
//         signatures do not verify with the published keys;
//       wrong-audience: ID tokens are re-signed (with the real key) for another client id;
//       expired: the provider's clock runs 10 minutes late and ID tokens live 60 s, so they arrive expired.
//   GET/POST /interaction/:uid  the login form (field "login": an account's sub); consent is implied.
// Prints "ready <issuer>" on stdout once listening.
import Provider from "oidc-provider";
import * as jose from "jose";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const KID = "portal-test-key";
const SKEW_MS = 10 * 60 * 1000;

let mode = "normal";
const realNow = Date.now.bind(Date);
Date.now = () => realNow() - (mode === "expired" ? SKEW_MS : 0);

const signing = await jose.generateKeyPair("RS256", { extractable: true });
const impostor = await jose.generateKeyPair("RS256", { extractable: true });
const signingJwk = { ...(await jose.exportJWK(signing.privateKey)), kid: KID, alg: "RS256", use: "sig" };
const impostorJwks = {
  keys: [{ ...(await jose.exportJWK(impostor.publicKey)), kid: KID, alg: "RS256", use: "sig" }],
};

const accounts = new Map();

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ["portal-test-cookie-key"] },
  scopes: ["openid", "email", "profile", "groups"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
    groups: ["groups"],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    IdToken: () => (mode === "expired" ? 60 : 3600),
    AccessToken: 3600,
    AuthorizationCode: 600,
    Interaction: 3600,
    Session: 3600,
    Grant: 3600,
  },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, email_verified: true, ...account }) };
  },
  // A first-party client: consent is implied for every scope it asks for.
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile groups");
    await grant.save();
    return grant;
  },
});

async function readBody(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

provider.use(async (ctx, next) => {
  if (ctx.path === "/test/accounts" && ctx.method === "POST") {
    const account = JSON.parse(await readBody(ctx));
    const { sub, ...claims } = account;
    accounts.set(sub, claims);
    ctx.body = { ok: true };
    return;
  }
  if (ctx.path === "/test/mode" && ctx.method === "POST") {
    mode = JSON.parse(await readBody(ctx)).mode;
    ctx.body = { mode };
    return;
  }
  if (ctx.path.startsWith("/interaction/")) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === "GET") {
      ctx.type = "html";
      ctx.body = `<!doctype html><form method="post" action="/interaction/${escape(details.uid)}">
<label>Account <input name="login"></label><button type="submit">Sign in</button></form>`;
      return;
    }
    const login = new URLSearchParams(await readBody(ctx)).get("login");
    if (!accounts.has(login)) {
      ctx.status = 400;
      ctx.body = `unknown account ${login}`;
      return;
    }
    const redirectTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: login } },
      { mergeWithLastSubmission: false },
    );
    ctx.redirect(redirectTo);
    return;
  }
  if (ctx.path === "/jwks" && mode === "bad-signature") {
    ctx.body = impostorJwks;
    return;
  }
  await next();
  if (ctx.path === "/token" && mode === "wrong-audience" && ctx.body?.id_token) {
    const claims = jose.decodeJwt(ctx.body.id_token);
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT({ ...claims, aud: "another-client" })
        .setProtectedHeader({ alg: "RS256", kid: KID, typ: "JWT" })
        .sign(signing.privateKey),
    };
  }
});

provider.listen(Number(port), "127.0.0.1", () => {
  process.stdout.write(`ready ${issuer}\n`);
});
