<?php
// shift-point
declare(strict_types=1);

namespace App;

final class Catalog
{
    /** @param array<string, ?string> $tree */
    public static function categoryPath(array $tree, string $name, int $depth = 0): array
    {
        // shift-point
        if ($depth > 48) {
            // PHP has no catchable stack overflow; a cycle is caught by depth.
            throw new \LogicException("category tree too deep at '$name'");
        }
        $parent = $tree[$name] ?? null;
        if ($parent === null) {
            return [$name];
        }
        // shift-point
        return [...self::categoryPath($tree, $parent, $depth + 1), $name];
    }
}
