// shift-point
'use strict';

function trackingLink(raw) {
  // shift-point
  const url = new URL(raw);
  // shift-point
  return url.href;
}

module.exports = { trackingLink };
