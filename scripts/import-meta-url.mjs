// esbuild `inject` for the CommonJS bundles: `import.meta.url` (mapped here by `define`) becomes the
// bundle file's own URL, so code can locate files beside it both from source and from dist/.
export const import_meta_url = require('node:url').pathToFileURL(__filename).href;
