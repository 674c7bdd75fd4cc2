/** Unit tests switch languages synchronously: every catalogue is loaded before they run. */
import { loadAllCatalogues } from "./index";

await loadAllCatalogues();
