package portal

import (
	"context"
	"net/http"
	"strings"

	"github.com/idcenter/idcenter/internal/web"
)

// Tile is one application on the access portal.
type Tile struct{ Name, URL string }

// Tiles lists the applications a user may open from /start: the enabled
// applications assigned to them, directly or through a group.
type Tiles interface {
	TilesFor(ctx context.Context, userID string) ([]Tile, error)
}

// startTiles returns the signed-in user's tiles, filtered by the search
// query q (case-insensitive substring of the name).
func (p *Portal) startTiles(r *http.Request, q string) ([]Tile, error) {
	if p.Tiles == nil {
		return nil, nil
	}
	all, err := p.Tiles.TilesFor(r.Context(), web.AuthFrom(r.Context()).User.ID)
	if err != nil || q == "" {
		return all, err
	}
	var out []Tile
	lq := strings.ToLower(q)
	for _, t := range all {
		if strings.Contains(strings.ToLower(t.Name), lq) {
			out = append(out, t)
		}
	}
	return out, nil
}
