# Source this file (`source scripts/use-node.sh`) to run the project on a Node that executes its TypeScript
# directly: 22.18 or newer (23.6 or newer on the 23 line). The check is `scripts/require-node.mjs`, the same one
# `npm start` runs. When the `node` on PATH fails it (older, or none), this installs Node 24 from the npm
# registry's `node@24` package into a cache folder (once) and puts it first on PATH for the rest of the shell.
sw_node_scripts="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
sw_node_ok() { node "$sw_node_scripts/require-node.mjs" --quiet >/dev/null 2>&1; }

if ! sw_node_ok; then
  sw_node_cache="${SW_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/serverless-webhooks/node24}"
  echo "Node $(node --version 2>/dev/null || echo 'not found') cannot run the project's TypeScript (22.18+ needed): using Node 24 from $sw_node_cache" >&2
  if [ ! -x "$sw_node_cache/node_modules/.bin/node" ]; then
    echo "installing node@24 from the npm registry into $sw_node_cache (once)" >&2
    mkdir -p "$sw_node_cache"
    npm install --prefix "$sw_node_cache" --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  export PATH="$sw_node_cache/node_modules/.bin:$PATH"
  hash -r 2>/dev/null || true
  if ! sw_node_ok; then
    echo "Could not bring up Node >= 22.18 (have $(node --version 2>/dev/null)); install Node 24 from https://nodejs.org" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
