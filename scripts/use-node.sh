# Source this file (`source scripts/use-node.sh`) to run the project on Node >= 22.
# When the `node` on PATH is older, it installs Node 24 from the npm registry's `node@24` package into a
# cache folder (once) and puts it first on PATH for the rest of the shell session.
sw_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(sw_node_major)" -lt 22 ]; then
  sw_node_cache="${SW_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/serverless-webhooks/node24}"
  if [ ! -x "$sw_node_cache/node_modules/.bin/node" ]; then
    echo "Node $(node --version 2>/dev/null || echo 'not found') is older than 22: installing node@24 into $sw_node_cache" >&2
    mkdir -p "$sw_node_cache"
    npm install --prefix "$sw_node_cache" --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  export PATH="$sw_node_cache/node_modules/.bin:$PATH"
  hash -r 2>/dev/null || true
  if [ "$(sw_node_major)" -lt 22 ]; then
    echo "Could not bring up Node >= 22 (have $(node --version 2>/dev/null)); install Node 24 from https://nodejs.org" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
