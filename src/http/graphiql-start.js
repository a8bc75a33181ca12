// Starts scopegate's GraphiQL in the browser. Served as /graphiql/<version>/start.js after
// the GraphiQL bundle; the page's configuration comes from its JSON data block (see
// src/http/graphiql.ts). Plain JavaScript, run as is: no build step.
'use strict';
(() => {
  const config = JSON.parse(document.getElementById('graphiql-config').textContent);
  const token = new RegExp(config.tokenPattern);
  const introspectionName = config.options.introspectionQueryName || 'IntrospectionQuery';

  // The editors' workers come from this server too (no blob: URLs, which the policy refuses).
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => config.workers[label] };

  /** The token in an `Authorization: Bearer …` header, if it looks like one of ours. */
  function bearerToken(headers) {
    for (const [name, value] of Object.entries(headers || {})) {
      if (name.toLowerCase() !== 'authorization' || typeof value !== 'string') continue;
      const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(value);
      return match && token.test(match[1]) ? match[1] : null;
    }
    return null;
  }

  // The token the schema was last asked with: a different one in the headers asks again.
  let introspectedWith = null;

  async function fetcher(params, opts) {
    const headers = (opts && opts.headers) || {};
    if (params.operationName === introspectionName) {
      const bearer = bearerToken(headers);
      // Anonymous callers get 401 for all but login: without a token, asking would only show
      // an error. GraphiQL waits (its Docs pane says it is loading) until a token is there.
      if (!bearer) return new Promise(() => {});
      introspectedWith = bearer;
    }
    const response = await fetch(config.endpoint, {
      method: 'POST',
      credentials: 'omit',
      headers: { accept: 'application/graphql-response+json, application/json', 'content-type': 'application/json', ...headers },
      body: JSON.stringify(params),
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`HTTP ${response.status} ${response.statusText}: ${text.slice(0, 500)}`);
    }
  }

  // GraphiQL asks for the schema once, at the start; its shortcut for asking again is
  // Shift-Ctrl-R. A new token in the headers presses it, so the Docs and autocompletion follow.
  let settling;
  function onEditHeaders(text) {
    clearTimeout(settling);
    settling = setTimeout(() => {
      let headers;
      try {
        headers = JSON.parse(text);
      } catch {
        return; // still being typed
      }
      const bearer = bearerToken(headers);
      if (bearer && bearer !== introspectedWith) {
        window.dispatchEvent(new KeyboardEvent('keydown', { key: 'R', code: 'KeyR', ctrlKey: true, shiftKey: true }));
      }
    }, 300);
  }

  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), { ...config.options, fetcher, onEditHeaders });
})();
