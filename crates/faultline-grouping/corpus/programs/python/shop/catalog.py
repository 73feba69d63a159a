# shift-point


def category_path(tree, name):
    # shift-point
    parent = tree.get(name)
    if parent is None:
        return [name]
    # A cycle in the tree (a -> b -> a) recurses until RecursionError.
    # shift-point
    return category_path(tree, parent) + [name]
