'use strict';
// Invoice templates, read relative to the working directory.

const fs = require('fs');

function loadTemplate(name) {
  return fs.readFileSync(`templates/${name}.html`, 'utf8');
}

module.exports = { loadTemplate };
