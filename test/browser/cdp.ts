/** The DevTools-protocol page lives in src/notebook/cdp.ts (run-notebooks uses it too); re-exported for the tests. */
export { BrowserPage } from '../../src/notebook/cdp.js';
