'use strict';
// Per-user settings, stored as JSON text.

function parseSettings(text) {
  const settings = JSON.parse(text);
  return { theme: settings.theme ?? 'light', ...settings };
}

module.exports = { parseSettings };
