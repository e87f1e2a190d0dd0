// The list's first request goes out from here, while the rest of the page's modules are
// still loading: main.js gives it to the list, which uses it if the address still asks for
// the same papers when the page is built.
import { api } from "./api.js";
import { DEFAULTS, FIRST_ROWS, listParams, parseHash } from "./query.js";

const { filters } = parseHash(location.hash);
const params = listParams(filters || DEFAULTS);
const controller = new AbortController();
const promise = api.listPapers({ ...params, limit: FIRST_ROWS, offset: 0 }, controller.signal);
promise.catch(() => { /* the list reports it when it takes the answer */ });

export const firstPage = { key: JSON.stringify(params), promise, controller };
