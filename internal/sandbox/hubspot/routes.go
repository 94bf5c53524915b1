package hubspot

import "net/http"

// Path prefixes: the legacy version first (it names the route in the
// counters), then the date-versioned alias.
var (
	objectsPrefixes      = []string{"/crm/v3/objects", "/crm/objects/2026-03"}
	objectsV4Prefixes    = []string{"/crm/v4/objects", "/crm/objects/2026-03"}
	associationsPrefixes = []string{"/crm/v4/associations", "/crm/associations/2026-03"}
	propertiesPrefixes   = []string{"/crm/v3/properties", "/crm/properties/2026-03"}
	listsPrefixes        = []string{"/crm/v3/lists", "/crm/lists/2026-03"}
)

// objectScopes returns the read or write scopes of the object type in the
// path value key.
func objectScopes(key string, write bool) scopeFunc {
	return func(r *http.Request) []string {
		ot, ok := lookupObjectType(r.PathValue(key))
		if !ok {
			return nil // the handler answers the unknown type
		}
		if write {
			return ot.writeScopes()
		}
		return ot.readScopes()
	}
}

func (h *Handler) routes() {
	// OAuth.
	h.handle("GET", []string{"/oauth"}, "/authorize", routePublic, nil, h.authorize)
	h.handle("POST", []string{"/oauth/v1", "/oauth/v3", "/oauth/2026-03"}, "/token", routePublic, nil, h.token)
	h.handle("GET", []string{"/oauth/v1"}, "/access-tokens/{token}", routePublic, nil, h.accessTokenInfo)
	h.handle("GET", []string{"/oauth/v1"}, "/refresh-tokens/{token}", routePublic, nil, h.refreshTokenInfo)
	h.handle("DELETE", []string{"/oauth/v1"}, "/refresh-tokens/{token}", routePublic, nil, h.refreshTokenInfo)

	// Objects.
	read, write := objectScopes("type", false), objectScopes("type", true)
	h.handle("GET", objectsPrefixes, "/{type}", routeCRM, read, h.listObjects)
	h.handle("POST", objectsPrefixes, "/{type}", routeCRM, write, h.createObject)
	h.handle("GET", objectsPrefixes, "/{type}/{id}", routeCRM, read, h.getObject)
	h.handle("PATCH", objectsPrefixes, "/{type}/{id}", routeCRM, write, h.updateObject)
	h.handle("POST", objectsPrefixes, "/{type}/search", routeSearch, read, h.search)
	h.handle("POST", objectsPrefixes, "/{type}/batch/read", routeCRM, read, h.batchRead)
	h.handle("POST", objectsPrefixes, "/{type}/batch/update", routeCRM, write, h.batchUpdate)

	// Associations.
	h.handle("GET", objectsV4Prefixes, "/{from}/{id}/associations/{to}", routeCRM, objectScopes("from", false), h.objectAssociations)
	h.handle("PUT", objectsV4Prefixes, "/{from}/{id}/associations/default/{to}/{toId}", routeCRM, objectScopes("from", true), h.associateDefault)
	h.handle("PUT", objectsV4Prefixes, "/{from}/{id}/associations/{to}/{toId}", routeCRM, objectScopes("from", true), h.associateLabelled)
	h.handle("POST", associationsPrefixes, "/{from}/{to}/batch/read", routeCRM, objectScopes("from", false), h.batchReadAssociations)

	// Properties.
	h.handle("GET", propertiesPrefixes, "/{object}", routeCRM, propertyScopes(false), h.listProperties)
	h.handle("POST", propertiesPrefixes, "/{object}", routeCRM, propertyScopes(true), h.createProperty)
	h.handle("GET", propertiesPrefixes, "/{object}/groups", routeCRM, propertyScopes(false), h.listGroups)
	h.handle("POST", propertiesPrefixes, "/{object}/groups", routeCRM, propertyScopes(true), h.createGroup)
	h.handle("GET", propertiesPrefixes, "/{object}/{name}", routeCRM, propertyScopes(false), h.getProperty)
	h.handle("PATCH", propertiesPrefixes, "/{object}/{name}", routeCRM, propertyScopes(true), h.updateProperty)

	// Lists.
	lr, lw := listScopes(false), listScopes(true)
	h.handle("POST", listsPrefixes, "", routeCRM, lw, h.createList)
	h.handle("GET", listsPrefixes, "", routeCRM, lr, h.getLists)
	h.handle("POST", listsPrefixes, "/search", routeCRM, lr, h.searchLists)
	h.handle("GET", listsPrefixes, "/{listId}", routeCRM, lr, h.getListByID)
	h.handle("DELETE", listsPrefixes, "/{listId}", routeCRM, lw, h.deleteList)
	h.handle("PUT", listsPrefixes, "/{listId}/restore", routeCRM, lw, h.restoreList)
	h.handle("GET", listsPrefixes, "/object-type-id/{objectTypeId}/name/{name}", routeCRM, lr, h.getListByName)
	h.handle("PUT", listsPrefixes, "/{listId}/update-list-filters", routeCRM, lw, h.updateListFilters)
	h.handle("PUT", listsPrefixes, "/{listId}/update-list-name", routeCRM, lw, h.updateListName)
	h.handle("GET", listsPrefixes, "/{listId}/memberships", routeCRM, lr, h.memberships)
	h.handle("PUT", listsPrefixes, "/{listId}/memberships/add", routeCRM, lw, h.changeMemberships(true))
	h.handle("PUT", listsPrefixes, "/{listId}/memberships/remove", routeCRM, lw, h.changeMemberships(false))

	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errNotFound("Unable to route "+r.Method+" "+r.URL.Path))
	})
}
