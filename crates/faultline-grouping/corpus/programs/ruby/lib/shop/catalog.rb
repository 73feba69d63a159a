# shift-point
module Shop
  module Catalog
    def self.category_path(tree, name)
      # shift-point
      parent = tree[name]
      return [name] if parent.nil?

      # A cycle in the tree recurses until SystemStackError.
      # shift-point
      category_path(tree, parent) + [name]
    end
  end
end
