// shift-point
'use strict';

function categoryPath(tree, name) {
  // shift-point
  const parent = tree[name];
  if (!parent) {
    return [name];
  }
  // A cycle in the tree recurses until V8's stack is exhausted.
  // shift-point
  return [...categoryPath(tree, parent), name];
}

module.exports = { categoryPath };
