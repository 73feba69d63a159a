// shift-point
package com.acme.shop;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

final class Catalog {
    private Catalog() {}

    static List<String> categoryPath(Map<String, String> tree, String name) {
        // shift-point
        String parent = tree.get(name);
        if (parent == null) {
            return new ArrayList<>(List.of(name));
        }
        // A cycle in the tree recurses until StackOverflowError.
        // shift-point
        List<String> path = categoryPath(tree, parent);
        path.add(name);
        return path;
    }
}
