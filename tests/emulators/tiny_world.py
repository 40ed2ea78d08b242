"""A tiny world (same file formats as the bundled demo world) so emulator tests do not depend
on the demo data, which other work keeps changing."""
from __future__ import annotations

import json
from pathlib import Path

MOVIES = """tmdb_id,title,original_title,original_language,release_date,runtime_min,genres,keywords,countries,vote_count,vote_average,popularity
101,The Imposter,The Imposter,en,2012-07-13,99,Documentary|Crime,true crime|impostor|missing child|fraud|investigative journalism,GB,900,7.5,12.0
102,Cold Case Files,Cold Case Files,en,2015-03-01,95,Documentary|Crime,true crime|cold case|forensics|murder,US,300,7.0,8.0
103,Crime Story Mockumentary,Crime Story Mockumentary,en,2014-05-01,88,Documentary|Crime|Comedy,mockumentary|true crime|satire,US,200,6.0,9.5
104,Heist Night,Heist Night,en,2010-09-10,118,Crime|Thriller,heist|police|corruption|violence,US,5000,7.4,40.0
105,Zodiac Hunter,Zodiac Hunter,en,2007-03-02,157,Crime|Drama|Mystery,serial killer|journalist|cold case|investigation,US,4000,7.5,35.0
106,Little Village Bakery,Little Village Bakery,en,2019-11-01,92,Animation|Family|Comedy,village|friendship|cooking|small town,US,800,7.2,20.0
107,Snowy Friends,Snowy Friends,en,2016-12-01,85,Animation|Family,friendship|christmas|dog,US,600,6.9,18.0
108,Amélie,Le Fabuleux Destin d'Amélie Poulain,fr,2001-04-25,122,Comedy|Romance,paris|love|friendship,FR,8000,7.8,55.0
109,Spider-Man,Spider-Man,en,2002-05-01,121,Action|Science Fiction|Fantasy,superhero|new york|based on comic book,US,9000,6.8,80.0
110,The Host,Gwoemul,ko,2006-07-27,119,Horror|Drama|Science Fiction,monster|river|family,KR,1500,6.9,20.0
111,The Host,The Host,en,2013-03-22,125,Action|Adventure|Romance|Science Fiction,alien|love triangle|body snatchers,US,2500,5.9,30.0
112,Night of Terror,Night of Terror,en,2011-10-31,90,Horror|Thriller,ghost|haunted house|murder,US,700,5.5,15.0
113,Battle Front,Battle Front,en,2009-06-01,130,War|Drama|History,battle|soldier|war,US,1200,7.0,22.0
114,Old Country Story,Old Country Story,en,1990-01-01,100,Foreign|Drama,village|family,IT,50,6.0,2.0
"""

SERIES = """tmdb_id,name,original_name,original_language,first_air_date,episode_runtime_min,genres,keywords,countries,vote_count,vote_average,popularity,number_of_seasons,tvdb_id,imdb_id
201,The Jinx: The Life and Deaths of Robert Durst,The Jinx: The Life and Deaths of Robert Durst,en,2015-02-08,45,Documentary|Crime,true crime|murder|investigative journalism|cold case,US,410,8.0,14.2,2,289080,tt4299972
202,Making a Murderer,Making a Murderer,en,2015-12-18,60,Documentary|Crime,true crime|wrongful conviction|murder|police corruption,US,1020,7.9,28.4,2,303211,tt5189670
203,Cozy Valley,Cozy Valley,en,2012-04-01,22,Animation|Family|Comedy,village|friendship|small town,GB,300,7.1,11.0,3,,
204,Star Voyage,Star Voyage,en,2019-01-01,50,Science Fiction|Drama,space|alien|spaceship,US,2000,7.6,45.0,1,350000,
205,Desert Patrol,Desert Patrol,en,2008-01-01,44,Crime|Drama,police|corruption|desert,US,900,7.3,16.0,4,,
"""

INVENTORY = """rating_key,section_id,media_type,tmdb_id,title,year,agent,added_at
501,1,movie,101,The Imposter,2012,plex,1700000001
502,1,movie,104,Heist Night,2010,plex,1700000002
503,1,movie,106,Little Village Bakery,2019,plex,1700000003
504,1,movie,108,Amélie,2001,plex,1700000004
505,1,movie,,Battle Front,2009,legacy,1700000005
601,2,show,201,The Jinx: The Life and Deaths of Robert Durst,2015,plex,1700000100
602,2,show,,Cozy Valley,2012,legacy,1700000101
603,2,show,205,Desert Patrol,2008,plex,1700000102
"""

WORLD_YML = """name: tiny
description: Emulator test world.
history_anchor: fixed
plex:
  machine_identifier: 00aa11bb22cc33dd44ee55ff6677889900aabbcc
  version: 1.40.2.8395-c67dce28e
  friendly_name: Tiny Plex
  sections:
  - {key: '1', type: movie, title: Movies, agent: tv.plex.agents.movie}
  - {key: '2', type: show, title: TV Shows, agent: tv.plex.agents.series}
"""

USERS = [
    {"row_id": 1, "user_id": 1001, "username": "dana", "friendly_name": "Dana", "is_admin": 1,
     "shared_libraries": ["1", "2"]},
    {"row_id": 2, "user_id": 1002, "username": "riley", "friendly_name": "", "is_admin": 0, "shared_libraries": []},
]

# 2024-03-01T12:00:00Z and following days
DAY = 86400
T0 = 1709294400


def _row(n, user_id, user, media_type, rating_key, title, day, **extra):
    row = {"reference_id": n, "row_id": n, "id": n, "date": T0 + day * DAY, "started": T0 + day * DAY,
           "stopped": T0 + day * DAY + 3600, "duration": 3600, "play_duration": 3600, "user_id": user_id,
           "user": user, "friendly_name": user.title(), "media_type": media_type, "rating_key": rating_key,
           "full_title": title, "title": title, "year": 2012, "watched_status": 1, "percent_complete": 98}
    row.update(extra)
    return row


HISTORY = [
    _row(1, 1001, "dana", "movie", 501, "The Imposter", 0, guid="plex://movie/aaa"),
    _row(2, 1001, "dana", "movie", 502, "Heist Night", 1),
    _row(3, 1002, "riley", "movie", 503, "Little Village Bakery", 2),
    _row(4, 1001, "dana", "episode", 7001, "Chapter 1", 3, parent_rating_key=7000, grandparent_rating_key=601,
         grandparent_title="The Jinx: The Life and Deaths of Robert Durst", parent_title="Season 1",
         full_title="The Jinx: The Life and Deaths of Robert Durst - Chapter 1", media_index=1,
         parent_media_index=1),
    _row(5, 1002, "riley", "episode", 7101, "Pilot", 4, parent_rating_key=7100, grandparent_rating_key=602,
         grandparent_title="Cozy Valley", full_title="Cozy Valley - Pilot", media_index=1, parent_media_index=1),
    _row(6, 1001, "dana", "episode", 7901, "Gone", 5, parent_rating_key=7900, grandparent_rating_key=699,
         grandparent_title="Deleted Show", full_title="Deleted Show - Gone"),
    _row(7, 1001, "dana", "track", 8001, "Song <One>", 6),
]


def write_tiny_world(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "movies.csv").write_text(MOVIES, encoding="utf-8")
    (root / "series.csv").write_text(SERIES, encoding="utf-8")
    (root / "inventory.csv").write_text(INVENTORY, encoding="utf-8")
    (root / "world.yml").write_text(WORLD_YML, encoding="utf-8")
    (root / "users.json").write_text(json.dumps(USERS), encoding="utf-8")
    (root / "history.jsonl").write_text("\n".join(json.dumps(r) for r in HISTORY) + "\n", encoding="utf-8")
    return root
