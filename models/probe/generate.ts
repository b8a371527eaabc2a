// PLACEHOLDER — the probe generator is being written; until then `npm run models` does nothing.
console.log('probe model: generator not written yet');
