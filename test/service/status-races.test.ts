/** Status writes racing each other, on the file status store. */
import { statusRaceSuite } from "./support/status-races.js";

statusRaceSuite("file store", () => ({}));
