// Moved to extension/shared/ (the webview uses them too); re-exported for the core's imports.
export { pyRound, roundHalfUp } from '../../shared/rounding.ts';
