// Loaded last on every console page: attention (attention.js) follows the page's own
// /ws/alerts stream, or opens one when the page follows no alerts.
import { attended, startAttention } from "./attention.js";
import { openStream } from "./console.js";

if (!attended()) openStream("/ws/alerts");
startAttention();
